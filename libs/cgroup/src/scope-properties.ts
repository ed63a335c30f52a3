/**
 * The few systemd scope properties that map onto a cgroup2 file, applied by the cgroupfs backend.
 * Properties arrive verbatim from a D-Bus caller, so any value shape must be survivable.
 */
import { accessSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScopeSpec } from './scope-backend.js';

const UINT64_MAX = 2n ** 64n - 1n;

/** machined's own default (upstream machine_start_scope sets TasksMax=16384 on every scope). */
export const DEFAULT_TASKS_MAX = 16384n;

function toUint64(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value >= 0n && value <= UINT64_MAX ? value : undefined;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  if (typeof value === 'string' && /^[0-9]{1,20}$/.test(value)) return toUint64(BigInt(value));
  return undefined;
}

/** UINT64_MAX is systemd's "infinity", `max` in cgroup2 files. */
function limit(value: bigint): string {
  return value === UINT64_MAX ? 'max' : value.toString();
}

/** cgroup2 file → content for each property we can express; the last occurrence wins, as in systemd. */
function cgroupSettings(properties: ScopeSpec['properties']): Map<string, string> {
  const settings = new Map<string, string>([['pids.max', DEFAULT_TASKS_MAX.toString()]]);
  for (const entry of properties) {
    if (!Array.isArray(entry)) continue;
    const [name, , raw] = entry as unknown[];
    const value = toUint64(raw);
    if (value === undefined) continue;
    if (name === 'TasksMax') settings.set('pids.max', limit(value));
    else if (name === 'MemoryMax') settings.set('memory.max', limit(value));
    // systemd's weight range; UINT64_MAX there means "unset", i.e. keep the kernel default.
    else if (name === 'CPUWeight' && value >= 1n && value <= 10000n) settings.set('cpu.weight', value.toString());
  }
  return settings;
}

/**
 * Writes TasksMax, MemoryMax and CPUWeight into a cgroup2 scope where the controller's file exists
 * (on hybrid hosts cgroup2 has no controllers, so nothing is written). Best effort: a value the
 * kernel refuses is skipped and named in the result; other properties are left to the caller.
 */
export function applyScopeProperties(
  scopeDir: string,
  properties: ScopeSpec['properties'],
): { applied: string[]; refused: string[] } {
  const applied: string[] = [];
  const refused: string[] = [];
  for (const [file, content] of cgroupSettings(properties)) {
    const path = join(scopeDir, file);
    try {
      accessSync(path);
    } catch {
      continue;
    }
    try {
      writeFileSync(path, content);
      applied.push(file);
    } catch {
      refused.push(file);
    }
  }
  return { applied, refused };
}
