/**
 * The hidden name a kept download gets in the pool, as upstream's pull_make_path() builds it:
 * `.tar-<URL>[.<ETag>]` for tar images, `.raw-<URL>[.<ETag>].raw` for raw ones, with the URL and
 * ETag escaped so they form one file name (xescape with `/.#"'`). Such names start with a dot, so
 * pool listings hide them unless asked (`list-images --all`) and `clean` removes them.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** Characters escaped besides the control characters, DEL and above, and the backslash. */
const FILENAME_ESCAPE = '/.#"\'';

/** Upstream hashes the URL when the path would not leave room for a temporary suffix (_POSIX_PATH_MAX - 16). */
const HASH_URL_THRESHOLD_LENGTH = 256 - 16;

/** xescape(): `\xNN` for every byte below 0x20, from 0x7f, the backslash and the given characters. */
export function xescape(s: string, bad: string = FILENAME_ESCAPE): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b < 0x20 || b >= 0x7f || c === '\\' || bad.includes(c) ? `\\x${b.toString(16).padStart(2, '0')}` : c;
  }
  return out;
}

/**
 * The pool name of the kept download of `url` (for raw images without the `.raw` file suffix,
 * which the pool adds). When the full path would be too long, the URL is replaced by a hash of it,
 * as upstream does; ours is the first 16 hex digits of its SHA-256 (upstream uses SipHash-2-4 with
 * a fixed key, so such names differ from upstream's).
 */
export function keptDownloadName(kind: 'tar' | 'raw', url: string, etag: string | null, poolPath: string): string {
  const prefix = kind === 'tar' ? '.tar-' : '.raw-';
  const suffix = kind === 'raw' ? '.raw' : '';
  const tail = etag ? `.${xescape(etag)}` : '';
  const name = `${prefix}${xescape(url)}${tail}`;
  if (join(poolPath, name + suffix).length < HASH_URL_THRESHOLD_LENGTH) return name;
  return `${prefix}${createHash('sha256').update(url).digest('hex').slice(0, 16)}${tail}`;
}
