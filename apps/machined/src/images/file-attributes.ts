/**
 * The immutable flag (chattr +i) of directories, which upstream uses as the read-only mark of a
 * plain directory image. Node has no ioctl, so e2fsprogs' lsattr/chattr do it; one lsattr call
 * covers every directory of a scan.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Paths (as given) whose immutable flag is set; paths lsattr cannot read are left out. */
export async function immutablePaths(paths: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  if (paths.length === 0) return out;
  let stdout = '';
  try {
    ({ stdout } = await execFileAsync('lsattr', ['-d', '--', ...paths], { maxBuffer: 16 * 1024 * 1024 }));
  } catch (e) {
    // A file system without flags makes lsattr fail for that path only; the others are still printed.
    stdout = (e as { stdout?: string }).stdout ?? '';
  }
  for (const line of stdout.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    if (line.slice(0, sp).includes('i')) out.add(line.slice(sp + 1));
  }
  return out;
}

/** chattr +i / -i on one path (not recursive: the flag marks the image's top directory). */
export async function setImmutable(path: string, on: boolean): Promise<void> {
  try {
    await execFileAsync('chattr', [on ? '+i' : '-i', '--', path]);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error((err.stderr ?? '').trim() || err.message);
  }
}
