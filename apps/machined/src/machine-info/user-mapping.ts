/**
 * Map{From,To}Machine{User,Group}: translating UIDs and GIDs between a container's user namespace
 * and the host through the leader's uid_map / gid_map, as upstream does for nss-mymachines and
 * userdb. IDs below 65536 are the host's own range and never belong to a container; identity
 * mappings (a container without its own user namespace) own nothing.
 */
import { readFileSync } from 'node:fs';
import { Errors, HOST_ID_RANGE, parseIdMap, type IdRange } from '@machined/protocol';
import type { Machine } from '../registry/machine.js';

type Kind = 'uid' | 'gid';

function ranges(m: Machine, kind: Kind): IdRange[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${m.leader}/${kind}_map`, 'utf8');
  } catch {
    return [];
  }
  return (parseIdMap(text) ?? []).filter((r) => r.inner !== r.outer);
}

export function mapFromMachine(m: Machine, kind: Kind, inner: number): number {
  if (m.class !== 'container') throw Errors.mappingOnlyContainers();
  const r = ranges(m, kind).find((x) => inner >= x.inner && inner - x.inner < x.count);
  if (!r) throw kind === 'uid' ? Errors.noUserMappingInMachine(m.name) : Errors.noGroupMappingInMachine(m.name);
  return r.outer + (inner - r.inner);
}

export function mapToMachine(machines: Machine[], kind: Kind, outer: number): [Machine, number] {
  if (outer < HOST_ID_RANGE) throw kind === 'uid' ? Errors.userInHostRange(outer) : Errors.groupInHostRange(outer);
  for (const m of machines) {
    if (m.class !== 'container') continue;
    const r = ranges(m, kind).find((x) => outer >= x.outer && outer - x.outer < x.count);
    if (r) return [m, r.inner + (outer - r.outer)];
  }
  throw kind === 'uid' ? Errors.noUserMapping(outer) : Errors.noGroupMapping(outer);
}
