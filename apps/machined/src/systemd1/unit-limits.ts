/**
 * SetUnitProperties on machine units: the resource limits the cgroup backend can enforce on this
 * host (TasksMax, MemoryMax, CPUWeight), each checked for its type first. A property that cannot be
 * enforced here is refused with an error naming it, never accepted and ignored.
 */
import type { ScopeBackend, UnitLocation } from '@machined/cgroup';
import { Errors, UINT64_MAX } from '@machined/protocol';

export const LIMIT_PROPERTIES = ['TasksMax', 'MemoryMax', 'CPUWeight'] as const;

export async function applyLimits(
  backend: ScopeBackend,
  unit: string,
  location: UnitLocation,
  properties: Array<[string, { signature: string; value: unknown }]>,
): Promise<void> {
  const limits: Array<[string, bigint]> = [];
  for (const [name, variant] of properties) {
    if (!(LIMIT_PROPERTIES as readonly string[]).includes(name)) throw Errors.unitPropertyNotSupported(name, unit);
    if (variant.signature !== 't' || typeof variant.value !== 'bigint') {
      throw Errors.invalidScopeProperty(`Invalid value for ${name}: expected type t`);
    }
    limits.push([name, variant.value]);
  }
  try {
    await backend.setLimits(location, limits);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOTSUP') throw Errors.unitPropertyNotSupported(limits.find(([n]) => (e as Error).message.startsWith(n))?.[0] ?? limits[0]![0], unit);
    throw e;
  }
}

/** The limit in force, UINT64_MAX ("infinity") when none is set or it is not known. */
export async function readLimit(backend: ScopeBackend, location: UnitLocation | null, name: string): Promise<bigint> {
  if (!location) return UINT64_MAX;
  return (await backend.readLimit(location, name).catch(() => undefined)) ?? UINT64_MAX;
}
