/**
 * Runs the C helper machined-pty (native/machined-pty.c) and receives the PTY master it allocates
 * inside a machine. The helper connects back to a unix socket machined listens on (in a fresh
 * 0700 directory, so only root can connect) before it enters the machine's namespaces, and sends
 * one line, "OK /dev/pts/N" with the master attached (SCM_RIGHTS, received through usocket) or
 * "ERR ERRNO text". For login and shell the helper stays as the parent of the program it started
 * and exits with it; machined does not wait for that.
 */
import { spawn } from 'node:child_process';
import { closeSync, promises as fs, constants as fsConstants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Errors } from '@machined/protocol';

export const PTY_HELPER = 'machined-pty';
const HELPER_TIMEOUT_MS = 30_000;

export interface PtyHelperRequest {
  mode: 'pty' | 'login' | 'shell';
  /** The machine's leader; absent for `.host` (nothing is entered). */
  leader?: number;
  /** cgroup.procs files the session joins (the leader's cgroups). */
  cgroupProcs?: string[];
  user?: string;
  /** Program and argv (argv[0] included); absent: the user's login shell. */
  command?: { path: string; argv: string[] };
  environment?: string[];
}

export interface OpenedPty {
  /** The master, ours until closeSoon(); never the slave. */
  fd: number;
  /** The slave's path as the machine sees it (`/dev/pts/N`). */
  path: string;
}

/** The helper's command line for a request (exported for the unit tests). */
export function ptyHelperArgs(socketPath: string, req: PtyHelperRequest): string[] {
  const args = ['--socket', socketPath, '--mode', req.mode];
  if (req.leader !== undefined) args.push('--leader', String(req.leader));
  for (const f of req.cgroupProcs ?? []) args.push('--cgroup-procs', f);
  if (req.user !== undefined) args.push('--user', req.user);
  for (const e of req.environment ?? []) args.push('--env', e);
  if (req.command) args.push('--', req.command.path, ...req.command.argv);
  return args;
}

interface USocketLike {
  on(event: 'fds', cb: (fds: number[]) => void): void;
  on(event: 'data', cb: (b: Buffer) => void): void;
  on(event: 'end' | 'close', cb: () => void): void;
  on(event: 'error', cb: (e: Error) => void): void;
  destroy(): void;
}
interface UServerLike {
  listen(path: string, cb: () => void): void;
  on(event: 'connection', cb: (s: USocketLike) => void): void;
  on(event: 'error', cb: (e: Error) => void): void;
  close(): void;
}

async function loadUsocket(): Promise<{ UServer: new () => UServerLike }> {
  // @ts-expect-error usocket ships no type declarations (a native addon dbus-next also uses)
  const mod = (await import('usocket')) as { default?: unknown };
  return (mod.default ?? mod) as { UServer: new () => UServerLike };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** Parses the helper's line: `OK path` or `ERR ERRNONAME text`. */
export function parseHelperLine(line: string): { ok: true; path: string } | { ok: false; errno: string; text: string } {
  const m = /^OK (\/dev\/pts\/\d+)$/.exec(line);
  if (m) return { ok: true, path: m[1]! };
  const e = /^ERR (\S+) (.*)$/.exec(line);
  if (e) return { ok: false, errno: e[1]!, text: e[2]! };
  return { ok: false, errno: 'EIO', text: line === '' ? 'the helper ended without an answer' : `unexpected answer '${line}'` };
}

export async function openPtyWithHelper(libexecDir: string, req: PtyHelperRequest, what: string): Promise<OpenedPty> {
  const helper = join(libexecDir, PTY_HELPER);
  try {
    await fs.access(helper, fsConstants.X_OK);
  } catch {
    throw Errors.failed(`machined's helper ${helper} is missing or not executable (is machined built? see --libexec-dir)`);
  }
  const { UServer } = await loadUsocket();
  const dir = mkdtempSync(join(tmpdir(), 'machined-pty-'));
  const socketPath = join(dir, 'socket');
  const server = new UServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.on('error', reject);
      server.listen(socketPath, resolve);
    });
    return await new Promise<OpenedPty>((resolve, reject) => {
      let settled = false;
      let stderr = '';
      const finish = (r: OpenedPty | Error) => {
        if (settled) {
          if (!(r instanceof Error)) closeQuietly(r.fd);
          return;
        }
        settled = true;
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      // Its own session: a terminal's ^C to machined's process group does not end user sessions.
      // No environment: the helper passes on only what the call gave.
      const child = spawn(helper, ptyHelperArgs(socketPath, req), { detached: true, env: {}, stdio: ['ignore', 'ignore', 'pipe'] });
      child.unref();
      child.stderr!.on('data', (b: Buffer) => {
        if (stderr.length < 4096) stderr += b.toString();
      });
      (child.stderr as unknown as { unref?: () => void }).unref?.();
      child.on('error', (e) => finish(Errors.failed(`Cannot start ${helper}: ${e.message}`)));
      child.on('exit', (code) => {
        // Exit before an answer: the helper failed before it could connect (bad usage, no socket).
        if (code !== 0) setTimeout(() => finish(Errors.failed(`${what}: ${stderr.trim().replace(/^machined-pty: /, '') || `helper exited with status ${code}`}`)), 100);
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(Errors.failed(`${what}: the helper did not answer within ${HELPER_TIMEOUT_MS / 1000} s`));
      }, HELPER_TIMEOUT_MS);
      server.on('connection', (sock) => {
        const fds: number[] = [];
        let data = '';
        sock.on('fds', (f) => fds.push(...f));
        sock.on('data', (b) => {
          data += b.toString();
        });
        sock.on('error', () => {});
        sock.on('end', () => {
          const answer = parseHelperLine(data.split('\n')[0] ?? '');
          if (answer.ok && fds.length === 1) return finish({ fd: fds[0]!, path: answer.path });
          fds.forEach(closeQuietly);
          if (answer.ok) return finish(Errors.failed(`${what}: the helper sent ${fds.length} descriptors`));
          finish(answer.errno === '-' ? Errors.failed(`${what}: ${answer.text}`) : Errors.fromErrno(answer.errno, `${what}: ${answer.text}`));
        });
      });
    });
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Our copy of a master goes once the reply carrying it has been written; dbus-next tells us no
 * "sent", and the write is synchronous unless the socket is backed up, so a short delay is enough.
 * (usocket receives descriptors without close-on-exec, so the delay is also kept short.)
 */
export function closeAfterReply(fd: number, delayMs = 2000): void {
  setTimeout(() => closeQuietly(fd), delayMs).unref();
}
