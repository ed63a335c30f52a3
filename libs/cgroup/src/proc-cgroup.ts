/** `/proc/PID/cgroup`: which cgroup a process is in, per hierarchy. */
import { readFileSync } from 'node:fs';
import { CgroupError, cgroupFailure, errnoCode } from './cgroup-error.js';
import type { Hierarchy } from './scope-backend.js';

export interface ProcCgroupEntry {
  /** Hierarchy ID; 0 is cgroup2. */
  id: number;
  /** v1 controllers of the hierarchy (`memory`, `name=systemd`); empty for cgroup2. */
  controllers: string[];
  /** Path relative to the hierarchy's root, e.g. `/machine.slice/machine-foo.scope`. */
  path: string;
}

/** Parses `ID:CONTROLLERS:PATH` lines; the path may itself contain `:`. */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const entries: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const id = Number(line.slice(0, first));
    if (!Number.isInteger(id) || id < 0) continue;
    const controllers = line.slice(first + 1, second);
    entries.push({ id, controllers: controllers === '' ? [] : controllers.split(','), path: line.slice(second + 1) });
  }
  return entries;
}

/**
 * The line libsystemd reads for units: the cgroup2 (`0::`) line on unified and hybrid hosts —
 * on hybrid sd-login ignores `name=systemd`, which is why scopes must exist in cgroup2 there —
 * and the `name=systemd` line on legacy hosts.
 */
export function systemdCgroupPath(entries: ProcCgroupEntry[], hierarchy: Hierarchy): string | undefined {
  const entry = hierarchy === 'legacy'
    ? entries.find((e) => e.controllers.includes('name=systemd'))
    : entries.find((e) => e.id === 0 && e.controllers.length === 0);
  return entry?.path;
}

/** The path of a process in the v1 `name=systemd` hierarchy, whatever the host's layout. */
export function nameSystemdCgroupPath(entries: ProcCgroupEntry[]): string | undefined {
  return entries.find((e) => e.controllers.includes('name=systemd'))?.path;
}

export function assertPid(pid: number): void {
  // 0 would mean "the writer itself" to cgroup.procs and "the caller" to systemd.
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new CgroupError('EINVAL', `Invalid PID: ${String(pid)}`);
}

/**
 * Reads and parses a process's cgroups; a PID that does not exist is a CgroupError ESRCH.
 * Synchronous: procfs answers from kernel memory (see cgroup-tree.ts).
 */
export function readProcCgroup(pid: number, procRoot = '/proc'): ProcCgroupEntry[] {
  assertPid(pid);
  const file = `${procRoot}/${pid}/cgroup`;
  try {
    return parseProcCgroup(readFileSync(file, 'utf8'));
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ESRCH') {
      throw new CgroupError('ESRCH', `No such process: PID ${pid} (${file} missing)`, file, { cause: err });
    }
    throw cgroupFailure('Cannot read', file, err);
  }
}
