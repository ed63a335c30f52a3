/**
 * GetUIDShift: the base of a container's user namespace mapping, as upstream determines it: one
 * line `0 SHIFT RANGE` in uid_map, the same in gid_map; anything else is too complex to describe
 * with one number.
 */
import { readFileSync } from 'node:fs';
import { Errors, parseIdMap } from '@machined/protocol';
import type { Machine } from '../registry/machine.js';

function simpleMap(path: string): { shift: number; range: number } | null {
  const ranges = parseIdMap(readFileSync(path, 'utf8'));
  if (ranges?.length !== 1 || ranges[0]!.inner !== 0) return null;
  return { shift: ranges[0]!.outer, range: ranges[0]!.count };
}

export function machineUidShift(m: Machine): number {
  if (m.isHost) return 0;
  if (m.class !== 'container') throw Errors.uidShiftOnlyContainers();
  let uid;
  let gid;
  try {
    uid = simpleMap(`/proc/${m.leader}/uid_map`);
    gid = simpleMap(`/proc/${m.leader}/gid_map`);
  } catch (e) {
    throw Errors.failed(`Cannot read the user namespace mapping of ${m.name}: ${(e as Error).message}`);
  }
  if (!uid || !gid || uid.shift !== gid.shift || uid.range !== gid.range) throw Errors.complexUidMapping(m.name);
  return uid.shift;
}
