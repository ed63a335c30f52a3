/**
 * Names of the images importd writes and the URLs it pulls, validated as 252's importd does: a
 * local name must be a valid host name (so that a container booted from it can be registered
 * under the same name; hostname_is_valid), and the pool's hidden names (`.` first) are never
 * accepted, which also keeps clients off importd's own temporaries.
 */
import { hostnameIsValid } from '@machined/protocol';

export function localNameIsValid(s: string): boolean {
  return !s.startsWith('.') && hostnameIsValid(s);
}

/** An http or https URL with a host, of printable ASCII, as http_url_is_valid. */
export function httpUrlIsValid(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (s.length === 0 || s.length > 8192 || /[^\x21-\x7e]/.test(s)) return false;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
}

/** file_url_is_valid(): `file:/` followed by at least one more character, all ASCII. */
export function fileUrlIsValid(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return s.startsWith('file:/') && s.length > 6 && /^[\x01-\x7f]*$/.test(s);
}

/** The last path component of a URL, which its SHA256SUMS line names. */
export function urlFileName(url: string): string {
  const p = new URL(url).pathname;
  return decodeURIComponent(p.slice(p.lastIndexOf('/') + 1));
}
