/**
 * Resolving a path inside an image's root the way chase() with CHASE_PREFIX_ROOT does: symlinks
 * are followed, but an absolute target starts again at the image root and `..` never climbs above
 * it, so an image can never make us read a file of the host.
 */
import { promises as fs } from 'node:fs';

const MAX_SYMLINKS = 32;

export class ChaseError extends Error {}

/** The host path of `inner` (absolute, inside root), or null when some component does not exist. */
export async function chaseInRoot(root: string, inner: string): Promise<string | null> {
  const todo = inner.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '..') {
      done.pop();
      continue;
    }
    const host = `${root}/${[...done, c].join('/')}`;
    let st;
    try {
      st = await fs.lstat(host);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw e;
    }
    if (!st.isSymbolicLink()) {
      done.push(c);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new ChaseError(`too many levels of symbolic links resolving ${inner}`);
    const target = await fs.readlink(host);
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
  }
  return `${root}/${done.join('/')}`;
}

/** Reads a regular file inside root, or null when there is none; never follows a symlink out. */
export async function readFileInRoot(root: string, inner: string, maxBytes = 4 * 1024 * 1024): Promise<string | null> {
  const host = await chaseInRoot(root, inner);
  if (host === null) return null;
  let handle;
  try {
    // O_NOFOLLOW: the last component was resolved above; a symlink swapped in since is refused.
    handle = await fs.open(host, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return null;
    throw e;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return null;
    const buf = Buffer.alloc(Math.min(st.size, maxBytes));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
