/**
 * Operations on one cgroup directory and the sub-cgroups below it, in any hierarchy. Cgroup
 * directories come and go under us (processes exit, nspawn creates `payload`), so every walk
 * treats a vanished directory as an empty one.
 *
 * These are synchronous on purpose: cgroupfs and procfs live in kernel memory and answer in
 * microseconds, while Node's asynchronous fs goes through a four-thread pool whose hand-offs cost
 * more than the work and serialize under load (measured: about 520 syscalls and 4 ms per scope
 * creation asynchronously). Being synchronous also makes each placement atomic with respect to
 * the event loop, so no lock is needed between creating and removing scopes in one slice.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { cgroupFailure, errnoCode } from './cgroup-error.js';

/** The cgroup directory of `cgroupPath` in the hierarchy mounted at `mount`. */
export function cgroupDir(mount: string, cgroupPath: string): string {
  return cgroupPath === '/' ? mount : `${mount}${cgroupPath}`;
}

/** File content, or undefined when the file (or its cgroup) does not exist. */
export function readOptionalFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENODEV') return undefined;
    throw err;
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/** Names of the child cgroups of `dir`; none when `dir` is gone. */
export function subCgroups(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/** PIDs listed in `dir/cgroup.procs` (not below); cgroup.procs may repeat a PID. */
export function readProcs(dir: string): number[] {
  const text = readOptionalFile(join(dir, 'cgroup.procs'));
  if (text === undefined) return [];
  return text.split('\n').filter((l) => l !== '').map(Number).filter((pid) => Number.isSafeInteger(pid) && pid > 0);
}

/** Every PID in `dir` and its sub-cgroups, deduplicated and sorted. */
export function readTreeProcs(dir: string): number[] {
  const pids = new Set<number>();
  const walk = (d: string): void => {
    for (const pid of readProcs(d)) pids.add(pid);
    for (const child of subCgroups(d)) walk(join(d, child));
  };
  walk(dir);
  return [...pids].sort((a, b) => a - b);
}

/**
 * mkdir -p of `cgroupPath` under `mount`, returning only the directories this call created
 * (parents first), so that a failed creation removes what it made and nothing that already was.
 */
export function makeCgroup(mount: string, cgroupPath: string): string[] {
  const created: string[] = [];
  const components = cgroupPath.split('/').filter((c) => c !== '');
  // ENOENT: someone else removed an empty parent slice between two of our mkdirs; start over.
  for (let attempt = 0; ; attempt++) {
    let dir = mount;
    try {
      for (const component of components) {
        dir = join(dir, component);
        try {
          mkdirSync(dir);
          created.push(dir);
        } catch (err) {
          if (errnoCode(err) !== 'EEXIST') throw err;
        }
      }
      return created;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt >= 3) throw cgroupFailure('Cannot create cgroup', dir, err);
    }
  }
}

/** Moves a process (its whole thread group) into the cgroup. */
export function movePid(dir: string, pid: number): void {
  const file = join(dir, 'cgroup.procs');
  try {
    writeFileSync(file, `${pid}\n`);
  } catch (err) {
    throw cgroupFailure(`Cannot move PID ${pid} into`, file, err);
  }
}

export interface RemoveOptions {
  /** How long to keep retrying while the cgroup is still populated (processes still exiting). */
  busyTimeoutMs: number;
}

/**
 * rmdir of `dir` and everything below it, leaf first. A cgroup with live processes or children
 * refuses with EBUSY; processes that were just killed leave within milliseconds, and a
 * sub-cgroup may be created meanwhile (nspawn's `payload`), so each retry walks the tree again.
 * A missing directory counts as removed.
 */
export async function removeCgroupTree(dir: string, options: RemoveOptions): Promise<void> {
  const deadline = Date.now() + options.busyTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    for (const child of subCgroups(dir)) await removeCgroupTree(join(dir, child), options);
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return;
      if ((code !== 'EBUSY' && code !== 'ENOTEMPTY') || Date.now() >= deadline) {
        throw cgroupFailure('Cannot remove cgroup', dir, err);
      }
    }
    await delay(Math.min(10 * 2 ** attempt, 100));
  }
}

/**
 * rmdir that gives up quietly when the directory is in use: for slices, which other machines may
 * share, and for rolling back a failed creation.
 */
export function removeIfUnused(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return true;
    if (code === 'EBUSY' || code === 'ENOTEMPTY') return false;
    throw cgroupFailure('Cannot remove cgroup', dir, err);
  }
}
