/**
 * Runs a command to completion and hands back everything a test asserts on. A non-zero exit is a
 * result, not an exception; only a command that cannot be started at all rejects.
 */
import { spawn } from 'node:child_process';
import { signalTree, track, untrack } from './cleanup.js';

export interface RunOptions {
  /** Merged over process.env; a key set to undefined removes it. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed (stdin is empty otherwise). */
  input?: string | Buffer;
  /** The process group is killed (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  cwd?: string;
}

export interface RunResult {
  /** Exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the time limit killed it. */
  timedOut: boolean;
}

/** The user and group nobody/nogroup on Debian. */
export const NOBODY_UID = 65534;

/**
 * npm puts the workspace's node_modules/.bin first on PATH while it runs the tests, and our own
 * `machinectl` is linked there: a test that runs `machinectl` must get Debian's, so those entries
 * are dropped for every child.
 */
function pathWithoutNodeModules(path: string | undefined): string | undefined {
  return path?.split(':').filter((dir) => !dir.includes('/node_modules/.bin')).join(':');
}

export function mergeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathWithoutNodeModules(process.env.PATH) };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function run(cmd: string, args: string[] = [], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30000;
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout also ends whatever the command started.
    const child = track(
      spawn(cmd, args, {
        env: mergeEnv(options.env),
        cwd: options.cwd,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalTree(child, 'SIGKILL');
    }, timeoutMs);
    child.stdout!.on('data', (c: Buffer) => stdout.push(c));
    child.stderr!.on('data', (c: Buffer) => stderr.push(c));
    child.once('error', (err) => {
      clearTimeout(timer);
      untrack(child);
      reject(new Error(`cannot run ${cmd}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) signalTree(child, 'SIGKILL');
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        timedOut,
      });
    });
    // A command that never reads stdin may be gone before we write: ignore EPIPE.
    child.stdin!.on('error', () => {});
    child.stdin!.end(options.input ?? '');
  });
}

/** Runs the command as nobody:nogroup with no supplementary groups (setpriv from util-linux). */
export function runAsNobody(cmd: string, args: string[] = [], options: RunOptions = {}): Promise<RunResult> {
  return run(
    'setpriv',
    [`--reuid=${NOBODY_UID}`, `--regid=${NOBODY_UID}`, '--clear-groups', '--', cmd, ...args],
    options,
  );
}
