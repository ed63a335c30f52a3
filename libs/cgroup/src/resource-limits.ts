/**
 * The resource limits a machine's unit may be given (systemd's TasksMax, MemoryMax, CPUWeight) and
 * where the kernel enforces each: the cgroup2 file of the unit when the controller is enabled
 * there, otherwise — on hybrid and legacy hosts — the v1 controller hierarchy, for the pids
 * controller only (the v1 memory and cpu hierarchies of this daemon may belong to whoever runs
 * it; moving machines out of them is not ours to do).
 */
export interface LimitSpec {
  /** File in a cgroup2 directory. */
  unifiedFile: string;
  /** v1 controller and its file, where the v1 hierarchy may be used instead. */
  v1?: { controller: string; file: string };
  format(value: bigint): string;
  parse(text: string): bigint | undefined;
}

/** systemd's "infinity". */
export const LIMIT_INFINITY = 0xffff_ffff_ffff_ffffn;

const maxOrNumber = {
  format: (v: bigint) => (v === LIMIT_INFINITY ? 'max' : v.toString()),
  parse: (t: string) => (t.trim() === 'max' ? LIMIT_INFINITY : /^[0-9]+$/.test(t.trim()) ? BigInt(t.trim()) : undefined),
};

export const RESOURCE_LIMITS: Record<string, LimitSpec> = {
  TasksMax: { unifiedFile: 'pids.max', v1: { controller: 'pids', file: 'pids.max' }, ...maxOrNumber },
  MemoryMax: { unifiedFile: 'memory.max', ...maxOrNumber },
  CPUWeight: {
    unifiedFile: 'cpu.weight',
    format: (v) => v.toString(),
    parse: (t) => (/^[0-9]+$/.test(t.trim()) ? BigInt(t.trim()) : undefined),
  },
};
