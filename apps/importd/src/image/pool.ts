/**
 * importd's view of the image pool: where images live (`NAME` directories, `NAME.raw` files), the
 * hidden temporaries a transfer writes into (`.#import-NAME-RANDOM`, ignored by every pool
 * listing), and the one step that makes an image appear: a rename, after the old image (with
 * `force`) is gone. Nothing else ever writes a visible name, so a failure, a cancel or a SIGKILL
 * at any moment leaves at most a temporary, and those are removed when importd starts.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TransferError } from '../transfer/transfer.js';
import { toolCommand } from './child.js';

const execFileAsync = promisify(execFile);

export const TEMP_PREFIX = '.#import-';

export type ImageKind = 'directory' | 'raw';

export interface PoolImage {
  name: string;
  kind: ImageKind;
  path: string;
}

async function lstatOrNull(p: string) {
  try {
    return await fs.lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** An OS tree as path_is_os_tree sees one: it has an os-release file (or link). */
async function isOsTree(dir: string): Promise<boolean> {
  return (await lstatOrNull(join(dir, 'etc/os-release'))) !== null || (await lstatOrNull(join(dir, 'usr/lib/os-release'))) !== null;
}

export class Pool {
  constructor(readonly path: string) {}

  /** The image of that name, directory or raw, as image_find would pick it. */
  async find(name: string): Promise<PoolImage | null> {
    const dir = join(this.path, name);
    const st = await lstatOrNull(dir);
    if (st?.isDirectory()) return { name, kind: 'directory', path: dir };
    const raw = join(this.path, `${name}.raw`);
    const rst = await lstatOrNull(raw);
    if (rst?.isFile()) return { name, kind: 'raw', path: raw };
    return null;
  }

  /** Fails like upstream's workers when the name is taken and `force` was not given. */
  async checkFree(name: string, force: boolean): Promise<void> {
    if (!force && (await this.find(name))) throw new TransferError(`Image '${name}' already exists.`);
  }

  private tempPath(name: string, suffix = ''): string {
    return join(this.path, `${TEMP_PREFIX}${name}-${randomBytes(8).toString('hex')}${suffix}`);
  }

  async createTempDir(name: string): Promise<string> {
    await fs.mkdir(this.path, { recursive: true, mode: 0o700 });
    const p = this.tempPath(name);
    await fs.mkdir(p, { mode: 0o755 });
    // mkdir's mode is cut by the umask; an image root is 0755 unless its archive says otherwise.
    await fs.chmod(p, 0o755);
    return p;
  }

  tempRawPath(name: string): string {
    return this.tempPath(name, '.raw');
  }

  /**
   * The temporaries present now: left by a previous run (importd killed half-way) when taken
   * before this one serves any call. Removed with removeTemporaries once the bus name is ours.
   */
  async listTemporaries(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries.filter((e) => e.startsWith(TEMP_PREFIX));
  }

  async removeTemporaries(names: string[]): Promise<void> {
    for (const e of names) await removeTree(join(this.path, e));
  }

  /**
   * The directory to use as the image's root: the temporary itself, or, when it holds nothing but
   * one directory with an OS tree inside (a tarball of `rootfs/...`), that directory (systemd#17563).
   */
  async osRoot(temp: string): Promise<string> {
    if (await isOsTree(temp)) return temp;
    const entries = await fs.readdir(temp);
    if (entries.length !== 1) return temp;
    const inner = join(temp, entries[0]!);
    const st = await fs.lstat(inner);
    return st.isDirectory() && (await isOsTree(inner)) ? inner : temp;
  }

  /**
   * Makes `source` (a temporary or a directory inside one) the image `name`, replacing an existing
   * image only with `force`. `temp` is removed whatever happens.
   */
  async install(source: string, temp: string, name: string, kind: ImageKind, options: { force: boolean; readOnly: boolean }): Promise<string> {
    try {
      const final = join(this.path, kind === 'raw' ? `${name}.raw` : name);
      const existing = await this.find(name);
      if (existing) {
        if (!options.force) throw new TransferError(`Image '${name}' already exists.`);
        await removeTree(existing.path);
      }
      await fs.rename(source, final);
      if (options.readOnly) await markReadOnly(final, kind);
      return final;
    } finally {
      await removeTree(temp).catch(() => undefined);
    }
  }
}

/** Marks an image read-only as upstream does off btrfs: the immutable flag on a directory, no write bits on a raw file. */
async function markReadOnly(path: string, kind: ImageKind): Promise<void> {
  if (kind === 'raw') {
    const st = await fs.stat(path);
    await fs.chmod(path, st.mode & 0o7555);
    return;
  }
  try {
    await execFileAsync(...toolCommand('chattr', ['+i', '--', path]));
  } catch (e) {
    throw new TransferError(`Failed to mark image read-only (chattr +i ${path}): ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`);
  }
}

/** rm -rf that also gets past an immutable top directory (a read-only image being replaced). */
export async function removeTree(path: string): Promise<void> {
  const st = await lstatOrNull(path);
  if (!st) return;
  if (st.isDirectory()) await execFileAsync(...toolCommand('chattr', ['-i', '--', path])).catch(() => undefined);
  await fs.rm(path, { recursive: true, force: true });
}
