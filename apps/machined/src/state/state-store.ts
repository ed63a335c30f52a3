/**
 * The state directory: one file per machine plus the `unit:UNIT` → NAME link that maps a PID's
 * unit to its machine for sd_pid_get_machine_name (`ps -o machine`). Files are written to a
 * temporary name and renamed, so a reader or a crash never sees half a file.
 */
import { promises as fs } from 'node:fs';
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
    await this.writeAtomically(final, formatStateFile(m));
    if (m.unit) await this.linkAtomically(join(this.dir, `unit:${m.unit}`), m.name);
  }

  async remove(name: string, unit: string): Promise<void> {
    await unlinkIfPresent(join(this.dir, name));
    if (unit) {
      // Only drop the link if it still points at this machine; another may own the unit now.
      const link = join(this.dir, `unit:${unit}`);
      const target = await fs.readlink(link).catch(() => null);
      if (target === name) await unlinkIfPresent(link);
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
      if (target === null || !entries.includes(target)) await unlinkIfPresent(join(this.dir, e));
    }
  }

  private async writeAtomically(final: string, content: string): Promise<void> {
    const tmp = join(this.dir, `.#${randomBytes(6).toString('hex')}`);
    try {
      await fs.writeFile(tmp, content, { mode: 0o644 });
      await fs.rename(tmp, final);
    } catch (e) {
      await unlinkIfPresent(tmp);
      throw e;
    }
  }

  private async linkAtomically(link: string, target: string): Promise<void> {
    const tmp = join(this.dir, `.#${randomBytes(6).toString('hex')}`);
    try {
      await fs.symlink(target, tmp);
      await fs.rename(tmp, link);
    } catch (e) {
      await unlinkIfPresent(tmp);
      throw e;
    }
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
