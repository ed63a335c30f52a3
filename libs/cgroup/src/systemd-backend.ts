/**
 * Machine scopes as transient systemd units, where systemd is PID 1 and owns
 * org.freedesktop.systemd1: what upstream machined does (machine_start_scope), so systemd keeps
 * managing, accounting and cleaning the cgroup. The cgroup tree is still read directly where the
 * bus offers nothing cheaper (inotify on cgroup.events, /proc for the subgroup of a process).
 */
import dbus, { type MessageBus } from 'dbus-next';
import { assertCgroupPath, unitCgroupPath, unitFromCgroupPath } from './cgroup-path.js';
import { cgroupDir, readTreeProcs } from './cgroup-tree.js';
import { watchCgroupEmpty } from './empty-watch.js';
import { detectHierarchy, type CgroupLayout } from './hierarchy.js';
import { assertPid, readProcCgroup, systemdCgroupPath } from './proc-cgroup.js';
import type { Accounting, Hierarchy, ScopeBackend, ScopeSpec, UnitLocation } from './scope-backend.js';
import { DEFAULT_TASKS_MAX } from './scope-properties.js';
import {
  MANAGER_INTERFACE, PROPERTIES_INTERFACE, SYSTEMD1_NAME, SYSTEMD1_PATH, UNIT_INTERFACE, callMethod, dbusErrorName,
} from './systemd-bus.js';
import { SystemdSignals } from './systemd-signals.js';
import { unitTypeInterface } from './unit-name.js';
import { systemdUnitObjectPath, unitNameIsValid } from '@machined/protocol';

export interface SystemdBackendOptions {
  layout?: CgroupLayout;
  /** Per method call; dbus-next has no timeout of its own. */
  callTimeoutMs?: number;
  /** How long createScope waits for the start job's JobRemoved. */
  jobTimeoutMs?: number;
  procRoot?: string;
}

const NO_SUCH_UNIT = 'org.freedesktop.systemd1.NoSuchUnit';
const UNKNOWN_METHOD = 'org.freedesktop.DBus.Error.UnknownMethod';
/** What a read of a unit that does not exist (any more) can answer. */
const UNIT_GONE = [NO_SUCH_UNIT, 'org.freedesktop.DBus.Error.UnknownObject', 'org.freedesktop.DBus.Error.UnknownInterface'];
const UINT64_MAX = 2n ** 64n - 1n;

function isCgroupPath(path: string): boolean {
  try {
    assertCgroupPath(path);
    return path !== '/';
  } catch {
    return false;
  }
}

function ignoring(...names: string[]): (err: unknown) => undefined {
  return (err) => {
    if (!names.includes(dbusErrorName(err) ?? '')) throw err;
    return undefined;
  };
}

export class SystemdBackend implements ScopeBackend {
  readonly kind = 'systemd' as const;
  readonly hierarchy: Hierarchy;
  private readonly layout: CgroupLayout;
  private readonly callTimeoutMs: number | undefined;
  private readonly jobTimeoutMs: number;
  private readonly procRoot: string;
  private readonly signals: SystemdSignals;
  private readonly stoppers = new Set<() => void>();
  /** Where systemd's cgroup tree starts, as /proc shows it (see shifted()); read on first use. */
  private rootPath: string | undefined;

  /** `bus` is the caller's connected system bus; close() leaves it connected. */
  constructor(private readonly bus: MessageBus, options: SystemdBackendOptions = {}) {
    this.layout = options.layout ?? detectHierarchy();
    this.hierarchy = this.layout.hierarchy;
    this.callTimeoutMs = options.callTimeoutMs;
    this.jobTimeoutMs = options.jobTimeoutMs ?? 90_000;
    this.procRoot = options.procRoot ?? '/proc';
    this.signals = new SystemdSignals(bus, this.callTimeoutMs);
  }

  private call(path: string, iface: string, member: string, signature?: string, body?: unknown[]): Promise<unknown[]> {
    return callMethod(this.bus, {
      destination: SYSTEMD1_NAME, path, interface: iface, member,
      ...(signature !== undefined ? { signature, body: body ?? [] } : {}),
    }, this.callTimeoutMs);
  }

  private manager(member: string, signature?: string, body?: unknown[]): Promise<unknown[]> {
    return this.call(SYSTEMD1_PATH, MANAGER_INTERFACE, member, signature, body);
  }

  private async property(path: string, iface: string, name: string): Promise<unknown> {
    const [variant] = await this.call(path, PROPERTIES_INTERFACE, 'Get', 'ss', [iface, name]);
    return variant instanceof dbus.Variant ? variant.value : undefined;
  }

  /**
   * StartTransientUnit with upstream machined's properties, then the caller's verbatim; resolves
   * once the start job is done, i.e. once the PIDs are in the scope.
   */
  async createScope(spec: ScopeSpec): Promise<UnitLocation> {
    if (!unitNameIsValid(spec.unit)) throw new Error(`Invalid unit name: ${JSON.stringify(spec.unit)}`);
    spec.pids.forEach(assertPid);
    const fallbackPath = unitCgroupPath(spec.slice, spec.unit);
    const { Variant } = dbus;
    const properties: Array<[string, InstanceType<typeof Variant>]> = [
      ['Slice', new Variant('s', spec.slice)],
      ['Description', new Variant('s', spec.description)],
      ['PIDs', new Variant('au', spec.pids)],
      ['Delegate', new Variant('b', true)],
      ['CollectMode', new Variant('s', 'inactive-or-failed')],
      ['AddRef', new Variant('b', true)],
      ['TasksMax', new Variant('t', DEFAULT_TASKS_MAX)],
      ...spec.properties.map(([name, signature, value]): [string, InstanceType<typeof Variant>] =>
        [name, new Variant(signature, value)]),
    ];
    const result = await this.signals.runJob(async () => {
      const [job] = await this.manager('StartTransientUnit', 'ssa(sv)a(sa(sv))', [spec.unit, 'fail', properties, []]);
      return String(job);
    }, this.jobTimeoutMs);
    if (result !== 'done') {
      throw new dbus.DBusError('org.freedesktop.systemd1.JobFailed', `Start job for unit ${spec.unit} failed with '${result}'`);
    }
    const cgroupPath = await this.controlGroup(spec.unit).catch(() => undefined);
    return { unit: spec.unit, cgroupPath: cgroupPath || fallbackPath, subgroup: '' };
  }

  private async unitPath(unit: string): Promise<string> {
    const [path] = await this.manager('GetUnit', 's', [unit]);
    return String(path);
  }

  private async controlGroup(unit: string): Promise<string | undefined> {
    const value = await this.property(await this.unitPath(unit), unitTypeInterface(unit), 'ControlGroup');
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  async attach(location: UnitLocation, pid: number): Promise<void> {
    assertPid(pid);
    await this.manager('AttachProcessesToUnit', 'ssau', [location.unit, location.subgroup ? `/${location.subgroup}` : '', [pid]]);
  }

  async members(location: UnitLocation): Promise<number[]> {
    try {
      const [processes] = await this.manager('GetUnitProcesses', 's', [location.unit]);
      const pids = (processes as Array<[string, number, string]>).map(([, pid]) => Number(pid));
      return [...new Set(pids)].sort((a, b) => a - b);
    } catch (err) {
      if (dbusErrorName(err) === NO_SUCH_UNIT) return [];
      // systemd < 238 has no GetUnitProcesses.
      const mount = this.layout.unified ?? this.layout.systemd;
      if (dbusErrorName(err) !== UNKNOWN_METHOD || mount === undefined || !isCgroupPath(location.cgroupPath)) throw err;
      return readTreeProcs(cgroupDir(mount, location.cgroupPath));
    }
  }

  async killAll(location: UnitLocation, signal: number): Promise<void> {
    await this.manager('KillUnit', 'ssi', [location.unit, 'all', signal]).catch(ignoring(NO_SUCH_UNIT));
  }

  /**
   * Resolves once the stop job is queued; systemd then signals, waits and removes the cgroup
   * (delegated sub-cgroups included), and watchEmpty fires when the unit is gone.
   */
  async remove(location: UnitLocation): Promise<void> {
    await this.manager('StopUnit', 'ss', [location.unit, 'replace']).catch(ignoring(NO_SUCH_UNIT));
    // Drops the reference AddRef took, as upstream does, so the unit can be collected.
    await this.manager('UnrefUnit', 's', [location.unit]).catch(() => undefined);
  }

  /**
   * Fires on UnitRemoved, on ActiveState becoming inactive/failed, or on cgroup2 `populated 0`
   * (whichever comes first), and at once when the unit no longer exists.
   */
  watchEmpty(location: UnitLocation, onEmpty: () => void): () => void {
    let active = true;
    const fire = (): void => {
      if (!active) return;
      stop();
      try {
        onEmpty();
      } catch (err) {
        // Not into dbus-next's message handler, which would answer the signal with an error.
        queueMicrotask(() => {
          throw err;
        });
      }
    };
    const unitEnd = this.signals.watchUnitEnd(location.unit, fire);
    const cgroupEvents = this.layout.unified !== undefined && isCgroupPath(location.cgroupPath)
      ? `${cgroupDir(this.layout.unified, location.cgroupPath)}/cgroup.events`
      : undefined;
    const stopInotify = cgroupEvents === undefined
      ? () => undefined
      : watchCgroupEmpty({ eventsFile: cgroupEvents, pollIntervalMs: 500, missingMeansEmpty: false }, fire);
    const stop = (): void => {
      if (!active) return;
      active = false;
      unitEnd.stop();
      stopInotify();
      this.stoppers.delete(stop);
    };
    this.stoppers.add(stop);
    // Listen first, then look: a unit that ends in between is still noticed. One call: the unit's
    // object path follows from its name, and systemd answers for a unit it no longer has with a
    // not-found stub, whose ActiveState is inactive.
    this.signals.track(unitEnd.ready.then(async () => {
      if (!active) return;
      const state = await this.property(systemdUnitObjectPath(location.unit), UNIT_INTERFACE, 'ActiveState');
      if (state === 'inactive' || state === 'failed') fire();
    }).catch((err: unknown) => {
      if (UNIT_GONE.includes(dbusErrorName(err) ?? '')) fire();
    }));
    return stop;
  }

  async exists(location: UnitLocation): Promise<boolean> {
    return this.unitPath(location.unit).then(() => true, (err: unknown) => {
      if (dbusErrorName(err) === NO_SUCH_UNIT) return false;
      throw err;
    });
  }

  /** systemd applies limits itself: SetUnitProperties, as a runtime change. */
  async setLimits(location: UnitLocation, limits: Array<[string, bigint]>): Promise<void> {
    const props = limits.map(([name, value]) => [name, new dbus.Variant('t', value)]);
    await this.call(SYSTEMD1_PATH, MANAGER_INTERFACE, 'SetUnitProperties', 'sba(sv)', [location.unit, true, props]);
  }

  async readLimit(location: UnitLocation, name: string): Promise<bigint | undefined> {
    try {
      const path = await this.unitPath(location.unit);
      const [v] = await this.call(path, PROPERTIES_INTERFACE, 'Get', 'ss', [unitTypeInterface(location.unit), name]);
      const value = (v as { value?: unknown } | undefined)?.value;
      return typeof value === 'bigint' ? value : typeof value === 'number' ? BigInt(value) : undefined;
    } catch {
      return undefined;
    }
  }

  /** systemd's MemoryCurrent, CPUUsageNSec and TasksCurrent; UINT64_MAX there means "not available". */
  async accounting(location: UnitLocation): Promise<Accounting> {
    let path: string;
    try {
      path = await this.unitPath(location.unit);
    } catch (err) {
      if (dbusErrorName(err) === NO_SUCH_UNIT) return {};
      throw err;
    }
    const [all] = await this.call(path, PROPERTIES_INTERFACE, 'GetAll', 's', [unitTypeInterface(location.unit)]);
    const props = (all ?? {}) as Record<string, { value?: unknown }>;
    const pick = (name: string): bigint | undefined => {
      const value = props[name]?.value;
      const n = typeof value === 'bigint' ? value : typeof value === 'number' ? BigInt(value) : undefined;
      return n === undefined || n === UINT64_MAX ? undefined : n;
    };
    const memoryCurrent = pick('MemoryCurrent');
    const cpuUsageNsec = pick('CPUUsageNSec');
    const tasksCurrent = pick('TasksCurrent');
    return {
      ...(memoryCurrent !== undefined ? { memoryCurrent } : {}),
      ...(cpuUsageNsec !== undefined ? { cpuUsageNsec } : {}),
      ...(tasksCurrent !== undefined ? { tasksCurrent } : {}),
    };
  }

  /**
   * As upstream's cg_pid_get_unit: the unit comes from /proc/PID/cgroup (the line of systemd's own
   * hierarchy, past the `*.slice` components), so registering a leader asks systemd nothing. Only
   * when /proc names no unit (no such line; the PID sits in the root or in a slice's own cgroup,
   * e.g. in another cgroup namespace) is systemd asked: GetUnitByPID, then the unit's Id and
   * ControlGroup, each once. A PID in a slice (the root is `-.slice`) is in no unit: null.
   */
  async unitOfPid(pid: number): Promise<UnitLocation | null> {
    const procPath = this.shifted(systemdCgroupPath(readProcCgroup(pid, this.procRoot), this.hierarchy));
    const fromProc = procPath === undefined ? null : unitFromCgroupPath(procPath);
    if (fromProc) return fromProc;
    return this.unitOfPidFromBus(pid, procPath).catch(() => null);
  }

  /**
   * cg_shift_path with cg_get_root_path: systemd's tree starts at PID 1's cgroup minus
   * `/init.scope` (`/system.slice` before systemd 226). That is `/` except where systemd runs in a
   * container without a cgroup namespace, and there the paths /proc shows begin with the
   * container's own cgroup, which is no unit of this systemd's. Read once: PID 1 does not move.
   */
  private shifted(path: string | undefined): string | undefined {
    if (this.rootPath === undefined) {
      let root: string | undefined;
      try {
        root = systemdCgroupPath(readProcCgroup(1, this.procRoot), this.hierarchy);
      } catch {
        root = undefined;
      }
      this.rootPath = root?.replace(/\/(init\.scope|system\.slice|system)$/, '') || '/';
    }
    const root = this.rootPath;
    if (path === undefined || root === '/') return path;
    if (path === root) return '/';
    return path.startsWith(`${root}/`) ? path.slice(root.length) : path;
  }

  private async unitOfPidFromBus(pid: number, procPath: string | undefined): Promise<UnitLocation | null> {
    const [path] = await this.manager('GetUnitByPID', 'u', [pid]);
    const unit = await this.property(String(path), UNIT_INTERFACE, 'Id');
    if (typeof unit !== 'string' || !unitNameIsValid(unit) || unit.endsWith('.slice')) return null;
    const controlGroup = await this.property(String(path), unitTypeInterface(unit), 'ControlGroup');
    const cgroupPath = typeof controlGroup === 'string' ? controlGroup : '';
    const below = cgroupPath !== '' && procPath?.startsWith(`${cgroupPath}/`) ? procPath.slice(cgroupPath.length + 1) : '';
    return { unit, cgroupPath, subgroup: below };
  }

  async close(): Promise<void> {
    for (const stop of [...this.stoppers]) stop();
    await this.signals.close();
  }
}
