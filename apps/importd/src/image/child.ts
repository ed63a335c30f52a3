/**
 * The tools that do the heavy lifting (tar, xz, gzip, bzip2, zstd, cp, gpg) as child processes:
 * started in their own process group so that a cancel ends each of them, their stderr kept for
 * the error message, and a non-zero exit turned into a TransferError naming the tool.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Writable } from 'node:stream';
import { TransferError } from '../transfer/transfer.js';

export interface Tool {
  child: ChildProcess;
  /** Resolves on exit status 0; rejects with the tool's last stderr lines otherwise. */
  done: Promise<void>;
  stderrLines(): string[];
  /** SIGTERM to the tool's process group, SIGKILL after a grace period. */
  kill(): void;
}

const KILL_GRACE_MS = 5000;

/**
 * Runs as `bash -c THIS importd-tool KEEP CMD ARGS...`: closes every fd above KEEP, then execs the
 * tool. File descriptors that arrive over D-Bus are not close-on-exec (usocket receives them
 * without MSG_CMSG_CLOEXEC) and Node cannot set the flag, so without this a tool of one transfer
 * would inherit the client fds of the others, and a client reading an export from a pipe would
 * wait for EOF until some unrelated tar ended.
 */
const CLOSE_INHERITED_FDS =
  'keep=$1; shift; for f in /proc/$$/fd/*; do n=${f##*/}; if [ "$n" -gt "$keep" ]; then eval "exec $n>&-"; fi; done; exec "$@"';

/** The command line that runs `cmd args` with only fds 0..keep open (for spawn or execFile). */
export function toolCommand(cmd: string, args: string[], keep = 2): [string, string[]] {
  return ['/bin/bash', ['-c', CLOSE_INHERITED_FDS, 'importd-tool', String(keep), cmd, ...args]];
}

export function startTool(
  cmd: string,
  args: string[],
  stdio: StdioOptions,
  signal: AbortSignal,
  options: { cwd?: string; onStderrLine?: (line: string) => void } = {},
): Tool {
  const keep = Array.isArray(stdio) ? stdio.length - 1 : 2;
  const [shell, argv] = toolCommand(cmd, args, keep);
  const child = spawn(shell, argv, {
    stdio,
    cwd: options.cwd,
    detached: true,
    env: { ...process.env, LC_ALL: 'C' },
  });
  const lines: string[] = [];
  let partial = '';
  child.stderr?.on('data', (c: Buffer) => {
    const parts = (partial + c.toString()).split('\n');
    partial = parts.pop()!;
    for (const l of parts) {
      if (lines.length < 200) lines.push(l);
      options.onStderrLine?.(l);
    }
  });
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // gone already
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, KILL_GRACE_MS).unref();
  };
  signal.addEventListener('abort', kill, { once: true });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => {
      signal.removeEventListener('abort', kill);
      reject(new TransferError(`Failed to run ${cmd}: ${e.message}`));
    });
    child.once('close', (code, sig) => {
      signal.removeEventListener('abort', kill);
      if (partial && lines.length < 200) lines.push(partial);
      if (code === 0) return resolve();
      const why = sig ? `was killed by ${sig}` : `exited with status ${code}`;
      const detail = lines.filter((l) => l.trim()).slice(-3).join('; ');
      reject(new TransferError(`${cmd} ${why}${detail ? `: ${detail}` : ''}`));
    });
  });
  return { child, done, stderrLines: () => [...lines], kill };
}

/**
 * Writes every chunk to `dest`, honouring back-pressure. When `dest` closes early (tar stops at
 * its end-of-archive marker) the rest is still read, so that a download is hashed in full.
 */
export async function pump(chunks: AsyncIterable<Buffer>, dest: Writable, signal: AbortSignal): Promise<void> {
  let open = true;
  dest.on('error', () => {
    open = false;
  });
  dest.on('close', () => {
    open = false;
  });
  for await (const c of chunks) {
    if (signal.aborted) throw signal.reason;
    if (!open) continue;
    if (!dest.write(c)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          dest.off('drain', done);
          dest.off('close', done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        dest.on('drain', done);
        dest.on('close', done);
        signal.addEventListener('abort', done);
      });
    }
  }
  if (signal.aborted) throw signal.reason;
  if (!open) return;
  await new Promise<void>((resolve) => {
    dest.once('finish', resolve);
    dest.once('close', resolve);
    dest.once('error', () => resolve());
    dest.end();
  });
}
