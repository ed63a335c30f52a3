/**
 * A container's user namespace as the kernel shows it in /proc/PID/uid_map and gid_map: lines of
 * `INNER OUTER COUNT`. Translation follows machined (machine_translate_uid,
 * machine_owns_uid_internal): a line whose outer base is 0 is the host's own namespace (or an
 * identity map) and owns nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uidIsValid } from './user-names.js';

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

/** Ranges that give IDs to the container: the host's own namespace (outer base 0) is skipped. */
function owning(ranges: IdRange[]): IdRange[] {
  return ranges.filter((r) => r.outer !== 0);
}

/** Container ID → host ID, or null if the container's namespace does not map it. */
export function idToHost(ranges: IdRange[], inner: number): number | null {
  for (const r of owning(ranges)) {
    if (inner < r.inner || inner - r.inner >= r.count) continue;
    const outer = r.outer + (inner - r.inner);
    return uidIsValid(outer) ? outer : null;
  }
  return null;
}

/** Host ID → container ID, or null if this namespace does not own the host ID. */
export function idFromHost(ranges: IdRange[], outer: number): number | null {
  for (const r of owning(ranges)) {
    if (outer < r.outer || outer - r.outer >= r.count) continue;
    const inner = r.inner + (outer - r.outer);
    return uidIsValid(inner) ? inner : null;
  }
  return null;
}

export type MapKind = 'uid' | 'gid';

/**
 * Reads a process's map; null when the process is gone or the file cannot be parsed (a machine
 * whose leader has died owns no IDs any more).
 */
export function readIdMap(procRoot: string, pid: number, kind: MapKind): IdRange[] | null {
  try {
    return parseIdMap(readFileSync(join(procRoot, String(pid), `${kind}_map`), 'utf8'));
  } catch {
    return null;
  }
}
