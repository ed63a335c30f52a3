/**
 * The one interface machined uses for machine scopes. A backend is chosen once at start-up
 * (see select-backend.ts): systemd's StartTransientUnit where systemd is PID 1 and owns
 * org.freedesktop.systemd1, otherwise the cgroup file system directly.
 */

/** How the cgroup file systems are mounted on this host. */
export type Hierarchy = 'unified' | 'hybrid' | 'legacy';

export interface ScopeSpec {
  /** Unit name, already escaped: `machine-my\x2dbox.scope`. */
  unit: string;
  /** Slice the scope goes into, e.g. `machine.slice` (`a-b.slice` nests as `/a.slice/a-b.slice`). */
  slice: string;
  /** `Container NAME` / `Virtual Machine NAME`, as upstream. */
  description: string;
  /** Processes moved in before createScope resolves (the leader). */
  pids: number[];
  /**
   * The caller's scope properties, verbatim from CreateMachine's `a(sv)` as `[name, signature, value]`.
   * The systemd backend appends them to its StartTransientUnit call; cgroupfs applies what it can
   * (TasksMax, MemoryMax, CPUWeight where the controller exists) and keeps the rest for callers.
   */
  properties: Array<[name: string, signature: string, value: unknown]>;
}

/** Where a unit lives: the unit name and its cgroup path relative to the hierarchy root. */
export interface UnitLocation {
  unit: string;
  /** e.g. `/machine.slice/machine-foo.scope` */
  cgroupPath: string;
  /** Path below the unit when the process sits deeper, e.g. `payload`; '' otherwise. */
  subgroup: string;
}

export interface Accounting {
  memoryCurrent?: bigint;
  cpuUsageNsec?: bigint;
  tasksCurrent?: bigint;
}

export interface ScopeBackend {
  readonly kind: 'systemd' | 'cgroupfs';
  readonly hierarchy: Hierarchy;

  /**
   * Creates the scope and moves spec.pids into it; resolves only once they are inside. Fails
   * without leaving anything behind: cgroupfs throws CgroupError (code ESRCH for a PID that does
   * not exist, EEXIST for a populated scope of that name), systemd the bus error (JobFailed, …).
   */
  createScope(spec: ScopeSpec): Promise<UnitLocation>;
  /** Moves one more process into an existing unit's cgroup, or into `location.subgroup` when set. */
  attach(location: UnitLocation, pid: number): Promise<void>;
  /** Every PID in the unit's cgroup and all of its sub-cgroups. */
  members(location: UnitLocation): Promise<number[]>;
  /** Signals every process of the unit (cgroup.kill for SIGKILL where the kernel has it). */
  killAll(location: UnitLocation, signal: number): Promise<void>;
  /**
   * Calls onEmpty once when the unit has no process left (inotify on cgroup.events where that
   * works, polling otherwise; at once when the unit is already empty or gone). Asynchronous, never
   * from within the call. Returns a function that stops watching.
   */
  watchEmpty(location: UnitLocation, onEmpty: () => void): () => void;
  /** True when the unit's cgroup (or systemd unit) still exists. */
  exists(location: UnitLocation): Promise<boolean>;
  /**
   * Removes the unit's cgroups, sub-cgroups first (nspawn leaves `payload`/`supervisor`), then
   * enclosing slices that became empty; stops a systemd unit. Kills nothing: on cgroupfs a scope
   * still populated after a short grace period fails with CgroupError EBUSY. A missing unit is fine.
   */
  remove(location: UnitLocation): Promise<void>;
  /** What the kernel accounts for the unit, where the controllers exist. */
  accounting(location: UnitLocation): Promise<Accounting>;
  /**
   * Sets resource limits (TasksMax, MemoryMax, CPUWeight; values as systemd's properties, UINT64_MAX
   * for infinity) where this host can enforce them. All are checked before any is written; a limit
   * that cannot be enforced is a CgroupError ENOTSUP naming it, never silently ignored.
   */
  setLimits(location: UnitLocation, limits: Array<[name: string, value: bigint]>): Promise<void>;
  /** The limit in force, or undefined when none is set or it is not known. */
  readLimit(location: UnitLocation, name: string): Promise<bigint | undefined>;
  /**
   * The unit a process belongs to (slices skipped, as sd-login does), or null when it is in none.
   * A PID that does not exist is a CgroupError with code ESRCH.
   */
  unitOfPid(pid: number): Promise<UnitLocation | null>;
  /** Stops every watch and the backend's bus subscriptions; a bus passed in stays connected. */
  close(): Promise<void>;
}
