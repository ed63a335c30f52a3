/**
 * The state directory: one file per machine plus the `unit:UNIT` → NAME link that maps a PID's
 * unit to its machine for sd_pid_get_machine_name (`ps -o machine`). Files are written to a
 * temporary name and renamed, so a reader or a crash never sees half a file.
 *
 * Writes are synchronous: the directory is a tmpfs under /run, where a write, a rename and a
 * symlink take microseconds; through Node's thread pool they took longer than the rest of a
 * registration together.
 */
import { promises as fs, readlinkSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { machineNameIsValid, HOST_MACHINE_NAME } from '@machined/protocol';
import { formatStateFile, parseStateFile, type MachineState } from './state-file.js';

export interface StoredMachine {
  fileName: string;
  state: Partial<MachineState>;
}

export class StateStore {
  constructor(readonly dir: string) {}

  /** systemd creates the directory at start even when empty: some tools test for it. */
  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o755 });
  }

  async save(m: MachineState): Promise<void> {
    const final = join(this.dir, m.name);
    this.writeAtomically(final, formatStateFile(m));
    if (m.unit) this.linkAtomically(join(this.dir, `unit:${m.unit}`), m.name);
  }

  async remove(name: string, unit: string): Promise<void> {
    unlinkIfPresent(join(this.dir, name));
    if (unit) {
      // Only drop the link if it still points at this machine; another may own the unit now.
      const link = join(this.dir, `unit:${unit}`);
      let target: string | null = null;
      try {
        target = readlinkSync(link);
      } catch {
        target = null;
      }
      if (target === name) unlinkIfPresent(link);
    }
  }

  /** Every machine file, skipping links, temporaries and names that are not machine names. */
  async loadAll(): Promise<StoredMachine[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    const out: StoredMachine[] = [];
    for (const fileName of entries) {
      if (fileName.startsWith('unit:') || fileName.startsWith('.#')) continue;
      if (!machineNameIsValid(fileName) || fileName === HOST_MACHINE_NAME) continue;
      const path = join(this.dir, fileName);
      const st = await fs.lstat(path).catch(() => null);
      if (!st?.isFile()) continue;
      const text = await fs.readFile(path, 'utf8').catch(() => null);
      if (text === null) continue;
      out.push({ fileName, state: parseStateFile(text) });
    }
    return out;
  }

  /** Removes links whose machine file is gone (left by a crash between the two unlinks). */
  async removeDanglingLinks(): Promise<void> {
    const entries = await fs.readdir(this.dir).catch(() => [] as string[]);
    for (const e of entries) {
      if (!e.startsWith('unit:')) continue;
      const target = await fs.readlink(join(this.dir, e)).catch(() => null);
      if (target === null || !entries.includes(target)) unlinkIfPresent(join(this.dir, e));
    }
  }

  private writeAtomically(final: string, content: string): void {
    const tmp = join(this.dir, `.#${randomBytes(6).toString('hex')}`);
    try {
      writeFileSync(tmp, content, { mode: 0o644 });
      renameSync(tmp, final);
    } catch (e) {
      unlinkIfPresent(tmp);
      throw e;
    }
  }

  private linkAtomically(link: string, target: string): void {
    const tmp = join(this.dir, `.#${randomBytes(6).toString('hex')}`);
    try {
      symlinkSync(target, tmp);
      renameSync(tmp, link);
    } catch (e) {
      unlinkIfPresent(tmp);
      throw e;
    }
  }
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
