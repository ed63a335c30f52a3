/**
 * Runs one of machined's C helpers (dist/libexec) as a child process, so slow or namespace-changing
 * work never blocks the event loop and never changes machined's own namespaces. The helpers exit
 * with the errno of what failed and say what it was on stderr; that becomes the D-Bus error sd-bus
 * would send for the errno (EEXIST → FileExists, ENOENT → FileNotFound, ...), with the helper's
 * line as the message.
 */
import { execFile } from 'node:child_process';
import { promises as fs, constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { Errors } from '@machined/protocol';

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

export function errnoName(code: number): string | undefined {
  return ERRNO_NAMES.get(code);
}

export async function runLibexecHelper(libexecDir: string, helper: string, args: string[]): Promise<void> {
  const path = join(libexecDir, helper);
  try {
    await fs.access(path, fsConstants.X_OK);
  } catch {
    throw Errors.failed(`machined's helper ${path} is missing or not executable (is machined built? see --libexec-dir)`);
  }
  await new Promise<void>((resolve, reject) => {
    // --pdeathsig: a helper still copying when machined dies stops instead of running on unseen.
    execFile('setpriv', ['--pdeathsig', 'KILL', '--', path, ...args], { maxBuffer: 1024 * 1024 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const line = stderr.trim().split('\n').slice(-1)[0]?.replace(/^machined-[a-z]+: /, '') ?? '';
      const status = (err as { code?: unknown }).code;
      const name = typeof status === 'number' ? errnoName(status) : undefined;
      if (name === undefined) return reject(Errors.failed(line || `${helper} died abnormally (${err.message})`));
      reject(Errors.fromErrno(name, line || name));
    });
  });
}
