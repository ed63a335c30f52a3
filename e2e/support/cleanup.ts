/**
 * A process-wide registry of what the tests started, so that root-hooks.ts can remove all of it
 * after the run even when a test failed half-way: process groups, temporary paths and cgroups,
 * plus every cgroup named with this run's RUN_PREFIX (machine scopes machined made).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cgroupsNamedWith, removeCgroup, sweepAbandonedCgroups } from './cgroups.js';
import { leadsProcessGroup, processGroupHasMembers } from './proc-stat.js';
import { RUN_PREFIX } from './run-prefix.js';

const children = new Set<ChildProcess>();
const groupLeaders = new WeakSet<ChildProcess>();
const paths = new Set<string>();
const cgroups = new Set<string>();
const createdParents: string[] = [];
/**
 * Slices that did not exist when the run began: machined and the harness create them for the
 * machines of the run (in every hierarchy, the v1 pids one included), and they go with the run.
 */
const SLICE_ROOTS = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup/pids'].filter((d) => existsSync(d));
const slicesAbsentAtStart = SLICE_ROOTS.flatMap((root) => ['machine.slice', 'system.slice'].map((s) => join(root, s))).filter((d) => !existsSync(d));

/**
 * Registers a child for cleanup. Spawn it with `detached: true` so that it leads its own process
 * group: cleanup then signals the whole group (nspawn, the shells a test starts, their children).
 */
export function track<T extends ChildProcess>(child: T): T {
  // Recorded now, while the child surely lives: after it exits, its PID proves nothing.
  if (child.pid !== undefined && leadsProcessGroup(child.pid)) groupLeaders.add(child);
  children.add(child);
  // A group leader stays registered after it exits while its group lives on (a container payload,
  // a background job, a daemon's child that a restart test wants to survive); the final cleanup
  // kills what is left of it. An empty group is forgotten at once, so that its number, once free
  // for reuse, is never signalled.
  child.once('exit', () => {
    if (!groupLeaders.has(child) || !processGroupHasMembers(child.pid!)) {
      children.delete(child);
      groupLeaders.delete(child);
    }
  });
  return child;
}

export function untrack(child: ChildProcess): void {
  children.delete(child);
}

/** Registers a file or directory to be removed (recursively) after the run. */
export function trackPath(p: string): string {
  paths.add(p);
  return p;
}

export function untrackPath(p: string): void {
  paths.delete(p);
}

/** Registers a cgroup directory to be emptied and removed, sub-cgroups first. */
export function trackCgroup(dir: string): string {
  cgroups.add(dir);
  return dir;
}

export function untrackCgroup(dir: string): void {
  cgroups.delete(dir);
}

/**
 * Creates a cgroup directory and the parents it lacks (system.slice on a host without systemd),
 * tracking the directory for removal and each parent it created for removal once empty.
 */
export function ensureCgroup(dir: string): string {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    mkdirSync(d);
    if (d !== dir) createdParents.push(d);
  }
  return trackCgroup(dir);
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Signals the child's process group when it leads one (even after the leader itself has exited:
 * the kernel does not reuse a PID while its group has members), else the child alone while it
 * lives. Never throws.
 */
export function signalTree(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid;
  if (pid === undefined) return;
  try {
    if (groupLeaders.has(child)) {
      if (alive(child) || processGroupHasMembers(pid)) process.kill(-pid, signal);
    } else if (alive(child)) {
      process.kill(pid, signal);
    }
  } catch {
    // already gone
  }
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (!alive(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    child.once('exit', onExit);
  });
}

/** SIGTERM to the group, then SIGKILL to whatever is left after graceMs. */
export async function stopTree(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (alive(child)) {
    signalTree(child, 'SIGTERM');
    if (!(await waitExit(child, graceMs))) {
      signalTree(child, 'SIGKILL');
      await waitExit(child, 2000);
    }
  }
  // The leader may be gone while members of its group live on (a container's payload).
  signalTree(child, 'SIGKILL');
}

/** Cgroups left by this run: tracked ones and those named with RUN_PREFIX. */
export function leftoverCgroups(): string[] {
  return [...new Set([...[...cgroups].filter((d) => existsSync(d)), ...cgroupsNamedWith(RUN_PREFIX)])];
}

/**
 * Removes everything tracked, then sweeps cgroups named with RUN_PREFIX. Resolves with what could
 * not be removed, for the root hook to report; never throws.
 */
export async function cleanupAll(): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all([...children].map((c) => stopTree(c, 2000)));
  children.clear();
  for (const dir of leftoverCgroups()) {
    if (!(await removeCgroup(dir))) problems.push(`cgroup ${dir} could not be removed`);
  }
  cgroups.clear();
  // Empty leftovers of earlier runs that were killed before their own clean-up.
  sweepAbandonedCgroups(RUN_PREFIX);
  // Parents we created go only when empty: another run may have put its own cgroups there since.
  for (const dir of [...createdParents.splice(0).reverse(), ...slicesAbsentAtStart]) {
    try {
      rmdirSync(dir);
    } catch {
      // busy or already gone
    }
  }
  for (const p of paths) {
    try {
      rmSync(p, { recursive: true, force: true });
    } catch (err) {
      problems.push(`${p}: ${(err as Error).message}`);
    }
  }
  paths.clear();
  return problems;
}
