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
import { assignPoolQuota, canMakeSubvolumes, deleteSubvolume, isSubvolume, makeSubvolume, setSubvolumeReadOnly } from './btrfs.js';
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
  /** debug: where the pool's non-fatal troubles go (quota set-up, as upstream's log lines). */
  constructor(
    readonly path: string,
    private readonly debug: (line: string) => void = () => {},
  ) {}

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

  /**
   * The temporary a directory image is built in: on a btrfs pool a subvolume with its automatic
   * quota groups (btrfs_subvol_make_fallback + import_assign_pool_quota_and_warn), else, or when
   * that fails, a plain directory.
   */
  async createTempDir(name: string): Promise<string> {
    await fs.mkdir(this.path, { recursive: true, mode: 0o700 });
    const p = this.tempPath(name);
    if (await canMakeSubvolumes(this.path)) {
      try {
        await makeSubvolume(p);
        await fs.chmod(p, 0o755);
        const trouble = await assignPoolQuota(this.path, p);
        if (trouble) this.debug(`Failed to set up the default quota hierarchy for ${p}, ignoring: ${trouble}`);
        return p;
      } catch (e) {
        this.debug(`Cannot create subvolume ${p}, using a plain directory: ${(e as Error).message}`);
        if (await isSubvolume(p)) await deleteSubvolume(p).catch(() => undefined);
      }
    }
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
      // A subvolume stays the image: the single inner OS tree moves up into it (import_mangle_os_tree).
      if (source !== temp && kind === 'directory' && (await isSubvolume(temp))) {
        await hoistInto(source, temp);
        source = temp;
      }
      await fs.rename(source, final);
      if (options.readOnly) await markReadOnly(final, kind);
      return final;
    } finally {
      await removeTree(temp).catch(() => undefined);
    }
  }
}

/**
 * import_mangle_os_tree for a subvolume temporary: the contents of dir (its only entry) move up
 * into top, which takes over dir's mode, ownership and times, as the renamed directory would have.
 */
async function hoistInto(dir: string, top: string): Promise<void> {
  const st = await fs.lstat(dir);
  // Renamed out of the way first: an entry inside may have the directory's own name.
  const moved = join(top, `${TEMP_PREFIX}hoist-${randomBytes(8).toString('hex')}`);
  await fs.rename(dir, moved);
  for (const e of await fs.readdir(moved)) await fs.rename(join(moved, e), join(top, e));
  await fs.rmdir(moved);
  await fs.chown(top, st.uid, st.gid);
  await fs.chmod(top, st.mode & 0o7777);
  await fs.utimes(top, st.atime, st.mtime);
}

/**
 * Marks an image read-only as upstream's import_make_read_only: the read-only property of a
 * subvolume, else the immutable flag on a directory, no write bits on a raw file.
 */
async function markReadOnly(path: string, kind: ImageKind): Promise<void> {
  if (kind === 'raw') {
    const st = await fs.stat(path);
    await fs.chmod(path, st.mode & 0o7555);
    return;
  }
  if (await isSubvolume(path)) {
    try {
      await setSubvolumeReadOnly(path, true);
    } catch (e) {
      throw new TransferError(`Failed to mark image read-only (${path}): ${(e as Error).message}`);
    }
    return;
  }
  try {
    await execFileAsync(...toolCommand('chattr', ['+i', '--', path]));
  } catch (e) {
    throw new TransferError(`Failed to mark image read-only (chattr +i ${path}): ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`);
  }
}

/**
 * rm -rf that also gets past an immutable top directory (a read-only image being replaced), and
 * deletes a subvolume (a read-only one too) as a subvolume.
 */
export async function removeTree(path: string): Promise<void> {
  const st = await lstatOrNull(path);
  if (!st) return;
  if (await isSubvolume(path)) return deleteSubvolume(path);
  if (st.isDirectory()) await execFileAsync(...toolCommand('chattr', ['-i', '--', path])).catch(() => undefined);
  await fs.rm(path, { recursive: true, force: true });
}
