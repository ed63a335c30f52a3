/** Looks a program up on a PATH, as execvp would; used to tell whether systemd-nspawn is installed. */
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

export function findProgram(name: string, path: string | undefined): string | null {
  for (const dir of (path ?? '').split(':')) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}
