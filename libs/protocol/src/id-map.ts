/**
 * A user namespace as the kernel shows it in /proc/PID/uid_map and gid_map: lines of
 * `INNER OUTER COUNT`. Shared by machined (Map*Machine*, GetUIDShift) and nss-helper (userdb),
 * which translate IDs through it.
 */

export interface IdRange {
  inner: number;
  outer: number;
  count: number;
}

/** IDs below this are the host's ("host range"); upstream never gives them to a container. */
export const HOST_ID_RANGE = 0x10000;

/** Parses a uid_map / gid_map text; null if a line is not three unsigned 32-bit numbers. */
export function parseIdMap(text: string): IdRange[] | null {
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const f = t.split(/\s+/);
    if (f.length !== 3 || !f.every((x) => /^[0-9]{1,10}$/.test(x))) return null;
    const [inner, outer, count] = f.map(Number) as [number, number, number];
    if (inner > 0xffffffff || outer > 0xffffffff || count > 0xffffffff) return null;
    out.push({ inner, outer, count });
  }
  return out;
}
