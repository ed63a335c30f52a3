/**
 * Which machines start at boot: what `machinectl enable` records through systemd1's
 * EnableUnitFiles (`machines.target` and `systemd-nspawn@NAME.service`). Where PID 1 is systemd
 * these are symlinks in /etc/systemd/system; here they are lines of one file machined owns
 * (`--enabled-units-file`, default /var/lib/machined/enabled-units: persistent, unlike the state
 * directory under /run, and outside it because sd-login reads every file there as a machine).
 * machined starts the enabled machines when it starts, unless `machines.target` was disabled
 * (upstream: the units are WantedBy=machines.target, itself WantedBy=multi-user.target and enabled
 * by the distribution's preset; machinectl 252 enables only the units, ≥ 253 the target too).
 * A disabled target is recorded as the line `!machines.target`.
 * Runtime enablement (`runtime=true`, /run/systemd/system in systemd) is kept in memory only.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';

export const MACHINES_TARGET = 'machines.target';
const TARGET_DISABLED = `!${MACHINES_TARGET}`;

/** One `(type, path, source)` entry of EnableUnitFiles' / DisableUnitFiles' `a(sss)` reply. */
export type UnitFileChange = [type: 'symlink' | 'unlink', path: string, source: string];

export class Enablement {
  private persistent = new Set<string>();
  private readonly runtime = new Set<string>();

  constructor(readonly file: string) {}

  /** (Re)reads the file; a missing file is "nothing enabled". */
  load(): void {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.persistent = new Set(text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
  }

  isEnabled(unit: string): boolean {
    return this.persistent.has(unit) || this.runtime.has(unit);
  }

  /** Whether enabled machines start at boot: machines.target is enabled unless disabled explicitly. */
  targetEnabled(): boolean {
    return this.runtime.has(MACHINES_TARGET) || !this.persistent.has(TARGET_DISABLED);
  }

  /** Enabled units other than machines.target, in file order. */
  enabledMachineUnits(): string[] {
    return [...new Set([...this.persistent, ...this.runtime])].filter((u) => u !== MACHINES_TARGET && u !== TARGET_DISABLED);
  }

  enable(units: string[], runtime: boolean): UnitFileChange[] {
    const set = runtime ? this.runtime : this.persistent;
    const changes: UnitFileChange[] = [];
    for (const unit of units) {
      if (set.has(unit)) continue;
      set.add(unit);
      if (unit === MACHINES_TARGET) set.delete(TARGET_DISABLED);
      changes.push(['symlink', this.where(runtime), unit]);
    }
    if (!runtime && changes.length > 0) this.save();
    return changes;
  }

  disable(units: string[], runtime: boolean): UnitFileChange[] {
    const set = runtime ? this.runtime : this.persistent;
    const changes: UnitFileChange[] = [];
    for (const unit of units) {
      if (unit === MACHINES_TARGET && !runtime) {
        // Enabled by default (the preset): disabling it is a line of its own.
        if (set.has(TARGET_DISABLED)) continue;
        set.delete(unit);
        set.add(TARGET_DISABLED);
      } else if (!set.delete(unit)) {
        continue;
      }
      // machinectl prints only the path of an unlink: it names the unit too.
      changes.push(['unlink', `${this.where(runtime)} (${unit})`, '']);
    }
    if (!runtime && changes.length > 0) this.save();
    return changes;
  }

  /** The "path" of a change: the file (or, for runtime enablement, that it lives in memory). */
  private where(runtime: boolean): string {
    return runtime ? `${this.file} (runtime, not saved)` : this.file;
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o755 });
    const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    const header = '# Units enabled with machinectl enable (machined); one per line.\n';
    writeFileSync(tmp, header + [...this.persistent].map((u) => `${u}\n`).join(''), { mode: 0o644 });
    renameSync(tmp, this.file);
  }
}
