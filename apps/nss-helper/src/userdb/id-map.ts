/**
 * A container's user namespace as the kernel shows it in /proc/PID/uid_map and gid_map: lines of
 * `INNER OUTER COUNT`. Translation follows machined (machine_translate_uid,
 * machine_owns_uid_internal): a line whose outer base is 0 is the host's own namespace (or an
 * identity map) and owns nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIdMap, type IdRange } from '@machined/protocol';
import { uidIsValid } from './user-names.js';

export { HOST_ID_RANGE, parseIdMap, type IdRange } from '@machined/protocol';

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
