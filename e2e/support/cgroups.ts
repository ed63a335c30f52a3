/**
 * Emptying and removing cgroups the tests (or machined, or nspawn) left behind, in both writable
 * hierarchies of a hybrid host.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The roots of the two writable hierarchies on a hybrid host (cgroup2 and name=systemd). */
export const CGROUP_ROOTS = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd'].filter((d) => existsSync(d));

/** Where machine scopes (machined) and nspawn service cgroups (the harness) are made. */
const SWEPT_SLICES = ['machine.slice', 'system.slice'];

function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name));
  } catch {
    return [];
  }
}

/** Kills every process in dir and below: cgroup.kill where the kernel offers it, else PID by PID. */
function killCgroup(dir: string): void {
  const killFile = join(dir, 'cgroup.kill');
  if (existsSync(killFile)) {
    try {
      writeFileSync(killFile, '1');
      return;
    } catch {
      // fall through to the portable way
    }
  }
  for (const sub of subdirs(dir)) killCgroup(sub);
  for (const pid of readPids(join(dir, 'cgroup.procs'))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

function cgroupPopulated(dir: string): boolean {
  return readPids(join(dir, 'cgroup.procs')).length > 0 || subdirs(dir).some(cgroupPopulated);
}

/** rmdir leaf first (nspawn leaves `payload` and `supervisor` below its unit). */
function removeCgroupTree(dir: string): boolean {
  let ok = true;
  for (const sub of subdirs(dir)) ok = removeCgroupTree(sub) && ok;
  try {
    rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') ok = false;
  }
  return ok;
}

/** Kills what is inside, then removes the tree; resolves false if something would not go. */
export async function removeCgroup(dir: string, timeoutMs = 3000): Promise<boolean> {
  if (!existsSync(dir)) return true;
  const deadline = Date.now() + timeoutMs;
  killCgroup(dir);
  // Killed processes leave their cgroup only once reaped, so this takes a moment.
  while (cgroupPopulated(dir) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    killCgroup(dir);
  }
  return removeCgroupTree(dir);
}

/** Cgroups directly below machine.slice / system.slice, in every hierarchy, whose names contain prefix. */
export function cgroupsNamedWith(prefix: string): string[] {
  const found: string[] = [];
  for (const root of CGROUP_ROOTS) {
    for (const slice of SWEPT_SLICES) {
      for (const dir of subdirs(join(root, slice))) {
        if (dir.slice(dir.lastIndexOf('/') + 1).includes(prefix)) found.push(dir);
      }
    }
  }
  return found;
}

/**
 * Empty cgroups that an earlier, killed run left (named with another run's prefix, `mdt` and six
 * hex digits) and that are old enough not to belong to a run going on right now. rmdir removes
 * only empty cgroups, so nothing with a process in it is ever touched.
 */
export function sweepAbandonedCgroups(ownPrefix: string, minAgeMs = 15 * 60_000): void {
  const now = Date.now();
  for (const root of CGROUP_ROOTS) {
    for (const slice of SWEPT_SLICES) {
      for (const dir of subdirs(join(root, slice))) {
        const name = dir.slice(dir.lastIndexOf('/') + 1);
        if (!/mdt[0-9a-f]{6}/.test(name) || name.includes(ownPrefix)) continue;
        try {
          if (now - statSync(dir).mtimeMs < minAgeMs) continue;
          for (const child of subdirs(dir)) rmdirSync(child);
          rmdirSync(dir);
        } catch {
          // in use, or already gone
        }
      }
    }
  }
}
