/**
 * The resource limits systemd1's SetUnitProperties may change on machine units, written straight
 * into the unit's cgroup2 directory. Only where the controller's file exists: a limit that cannot
 * be enforced is refused with an error, never accepted and ignored.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectHierarchy, type UnitLocation } from '@machined/cgroup';
import { Errors, UINT64_MAX } from '@machined/protocol';

interface Limit {
  file: string;
  signature: 't';
  format(value: bigint): string;
  parse(text: string): bigint;
}

const maxOrNumber: Pick<Limit, 'format' | 'parse'> = {
  format: (v) => (v === UINT64_MAX ? 'max' : v.toString()),
  parse: (t) => (t.trim() === 'max' ? UINT64_MAX : BigInt(t.trim())),
};

export const UNIT_LIMITS: Record<string, Limit> = {
  TasksMax: { file: 'pids.max', signature: 't', ...maxOrNumber },
  MemoryMax: { file: 'memory.max', signature: 't', ...maxOrNumber },
  CPUWeight: { file: 'cpu.weight', signature: 't', format: (v) => v.toString(), parse: (t) => BigInt(t.trim()) },
};

let unifiedRoot: string | undefined | null = null;
function unified(): string | undefined {
  if (unifiedRoot === null) unifiedRoot = detectHierarchy().unified;
  return unifiedRoot;
}

function limitFile(location: UnitLocation, limit: Limit): string | undefined {
  const root = unified();
  if (root === undefined) return undefined;
  const file = join(root, location.cgroupPath, limit.file);
  return existsSync(file) ? file : undefined;
}

/** The limit in force, or UINT64_MAX when none is set or it cannot be read (systemd's "infinity"). */
export function readLimit(location: UnitLocation | null, name: keyof typeof UNIT_LIMITS): bigint {
  const limit = UNIT_LIMITS[name]!;
  const file = location ? limitFile(location, limit) : undefined;
  if (!file) return UINT64_MAX;
  try {
    return limit.parse(readFileSync(file, 'utf8'));
  } catch {
    return UINT64_MAX;
  }
}

/** Checks every property first and only then writes, so a refused list changes nothing. */
export function applyLimits(unit: string, location: UnitLocation, properties: Array<[string, { signature: string; value: unknown }]>): void {
  const writes: Array<[string, string]> = [];
  for (const [name, variant] of properties) {
    const limit = UNIT_LIMITS[name];
    if (!limit) throw Errors.unitPropertyNotSupported(name, unit);
    if (variant.signature !== limit.signature || typeof variant.value !== 'bigint') {
      throw Errors.invalidScopeProperty(`Invalid value for ${name}: expected type ${limit.signature}`);
    }
    const file = limitFile(location, limit);
    if (!file) throw Errors.unitPropertyNotSupported(name, unit);
    writes.push([file, limit.format(variant.value)]);
  }
  for (const [file, text] of writes) writeFileSync(file, text);
}
