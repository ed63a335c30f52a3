/**
 * Machine scopes made directly in the cgroup file system, for hosts where systemd is not PID 1.
 * A scope lives in cgroup2 (what sd-login reads on unified and hybrid hosts) and in v1
 * `name=systemd` (what v1-era tools and nspawn's `payload` placement read). v1 controller
 * hierarchies (memory, cpu, pids…) are only ever read: the process running machined may itself
 * have been placed in one by its own supervisor.
 */
import { accessSync, existsSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { CgroupError, cgroupFailure, errnoCode } from './cgroup-error.js';
import { assertCgroupPath, unitCgroupPath, unitFromCgroupPath } from './cgroup-path.js';
import {
  cgroupDir, isDirectory, makeCgroup, movePid, readOptionalFile, readTreeProcs, removeCgroupTree, removeIfUnused,
} from './cgroup-tree.js';
import { watchCgroupEmpty } from './empty-watch.js';
import { detectHierarchy, type CgroupLayout } from './hierarchy.js';
import { assertPid, nameSystemdCgroupPath, readProcCgroup, systemdCgroupPath, type ProcCgroupEntry } from './proc-cgroup.js';
import type { Accounting, Hierarchy, ScopeBackend, ScopeSpec, UnitLocation } from './scope-backend.js';
import { applyScopeProperties } from './scope-properties.js';
import { RESOURCE_LIMITS, type LimitSpec } from './resource-limits.js';

export interface CgroupfsBackendOptions {
  /** Interval of the poll that replaces inotify on v1-only hosts. */
  pollIntervalMs?: number;
  /** How long remove() waits for a cgroup to drain before failing with EBUSY. */
  busyTimeoutMs?: number;
  /** Where /proc is; tests only. */
  procRoot?: string;
}

/** Kill rounds: processes forked while a round runs are caught by the next one. */
const KILL_ROUNDS = 10;

function assertSignal(signal: number): void {
  if (!Number.isInteger(signal) || signal < 1 || signal > 64) throw new CgroupError('EINVAL', `Invalid signal: ${signal}`);
}

export class CgroupfsBackend implements ScopeBackend {
  readonly kind = 'cgroupfs' as const;
  readonly hierarchy: Hierarchy;
  private readonly pollIntervalMs: number;
  private readonly busyTimeoutMs: number;
  private readonly procRoot: string;
  private readonly watches = new Set<() => void>();

  constructor(private readonly layout: CgroupLayout = detectHierarchy(), options: CgroupfsBackendOptions = {}) {
    this.hierarchy = layout.hierarchy;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.busyTimeoutMs = options.busyTimeoutMs ?? 2000;
    this.procRoot = options.procRoot ?? '/proc';
  }

  /** Hierarchies scopes are made in: cgroup2 first (the one sd-login reads), then name=systemd. */
  private mounts(): string[] {
    return [this.layout.unified, this.layout.systemd].filter((m): m is string => m !== undefined);
  }

  /**
   * Synchronous from the first mkdir to the last move: no other creation or removal can run in
   * between, so a removal never deletes the slice between this creation's mkdir and its move.
   */
  async createScope(spec: ScopeSpec): Promise<UnitLocation> {
    const cgroupPath = unitCgroupPath(spec.slice, spec.unit);
    if (spec.pids.length === 0) throw new CgroupError('EINVAL', `Scope ${spec.unit} needs at least one PID`);
    spec.pids.forEach(assertPid);
    // Where each process was, to put it back if a later one cannot be moved.
    const origins = new Map<number, ProcCgroupEntry[]>();
    for (const pid of spec.pids) origins.set(pid, readProcCgroup(pid, this.procRoot));

    const created: string[] = [];
    const moved: Array<{ pid: number; mount: string }> = [];
    try {
      for (const mount of this.mounts()) {
        created.push(...makeCgroup(mount, cgroupPath));
        const dir = cgroupDir(mount, cgroupPath);
        if (readTreeProcs(dir).length > 0) {
          throw new CgroupError('EEXIST', `Unit ${spec.unit} already exists with processes in ${dir}`, dir);
        }
      }
      // Limits first, so the leader never runs unconstrained in its scope.
      if (this.layout.unified !== undefined) {
        applyScopeProperties(cgroupDir(this.layout.unified, cgroupPath), spec.properties);
      }
      for (const pid of spec.pids) {
        for (const mount of this.mounts()) {
          movePid(cgroupDir(mount, cgroupPath), pid);
          moved.push({ pid, mount });
        }
      }
    } catch (err) {
      this.rollBack(moved, origins, created);
      throw err;
    }
    return { unit: spec.unit, cgroupPath, subgroup: '' };
  }

  private rollBack(moved: Array<{ pid: number; mount: string }>, origins: Map<number, ProcCgroupEntry[]>, created: string[]): void {
    for (const { pid, mount } of moved.reverse()) {
      const entries = origins.get(pid) ?? [];
      const origin = mount === this.layout.unified
        ? systemdCgroupPath(entries, 'unified')
        : nameSystemdCgroupPath(entries);
      try {
        movePid(cgroupDir(mount, origin ?? '/'), pid);
      } catch {
        // The process may have exited meanwhile; nothing to put back.
      }
    }
    for (const dir of created.reverse()) {
      try {
        removeIfUnused(dir);
      } catch {
        // Best effort: a directory someone else is using stays.
      }
    }
  }

  /** Into `location.subgroup` when set (e.g. `payload`), else into the unit's own cgroup. */
  async attach(location: UnitLocation, pid: number): Promise<void> {
    assertPid(pid);
    const path = this.targetPath(location);
    for (const mount of this.mounts()) {
      const dir = cgroupDir(mount, path);
      if (!isDirectory(dir)) throw new CgroupError('ENOENT', `Cgroup ${dir} does not exist`, dir);
      movePid(dir, pid);
    }
  }

  private targetPath(location: UnitLocation): string {
    const path = location.subgroup ? `${location.cgroupPath}/${location.subgroup}` : location.cgroupPath;
    assertCgroupPath(path);
    return path;
  }

  private unitPath(location: UnitLocation): string {
    assertCgroupPath(location.cgroupPath);
    if (location.cgroupPath === '/') throw new CgroupError('EINVAL', 'Refusing to act on the root cgroup');
    return location.cgroupPath;
  }

  async members(location: UnitLocation): Promise<number[]> {
    const mount = this.mounts()[0];
    return mount === undefined ? [] : readTreeProcs(cgroupDir(mount, this.unitPath(location)));
  }

  async killAll(location: UnitLocation, signal: number): Promise<void> {
    assertSignal(signal);
    const path = this.unitPath(location);
    if (signal === osConstants.signals.SIGKILL && this.layout.unified !== undefined && !this.containsSelf(path)) {
      const killFile = join(cgroupDir(this.layout.unified, path), 'cgroup.kill');
      // cgroup.kill (Linux 5.14+) kills the whole subtree atomically, forks included.
      try {
        accessSync(killFile);
        writeFileSync(killFile, '1');
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw cgroupFailure('Cannot write', killFile, err);
      }
    }
    // Also after cgroup.kill: a process may sit in name=systemd only. systemd's cg_kill loop:
    // signal each PID once, repeat while new PIDs turn up, never signal ourselves.
    const signalled = new Set<number>([process.pid]);
    for (let round = 0; round < KILL_ROUNDS; round++) {
      let fresh = false;
      for (const mount of this.mounts()) {
        for (const pid of readTreeProcs(cgroupDir(mount, path))) {
          if (signalled.has(pid)) continue;
          signalled.add(pid);
          fresh = true;
          try {
            process.kill(pid, signal);
          } catch (err) {
            if (errnoCode(err) !== 'ESRCH') throw err;
          }
        }
      }
      if (!fresh) break;
    }
  }

  /** cgroup.kill cannot spare the writer, so it is not used on a cgroup machined itself is in. */
  private containsSelf(path: string): boolean {
    const own = systemdCgroupPath(readProcCgroup(process.pid, this.procRoot), 'unified') ?? '/';
    return own === path || own.startsWith(`${path}/`);
  }

  /**
   * inotify on cgroup2 `cgroup.events` where cgroup2 exists (unified and hybrid), polling of the
   * name=systemd tree on legacy hosts. A scope that no longer exists counts as empty.
   */
  watchEmpty(location: UnitLocation, onEmpty: () => void): () => void {
    const path = this.unitPath(location);
    const { unified, systemd } = this.layout;
    const stop = watchCgroupEmpty(
      {
        ...(unified !== undefined ? { eventsFile: join(cgroupDir(unified, path), 'cgroup.events') } : {}),
        ...(systemd !== undefined ? { pollDir: cgroupDir(systemd, path) } : {}),
        pollIntervalMs: this.pollIntervalMs,
        missingMeansEmpty: true,
      },
      () => {
        this.watches.delete(stop);
        onEmpty();
      },
    );
    this.watches.add(stop);
    return () => {
      this.watches.delete(stop);
      stop();
    };
  }

  async exists(location: UnitLocation): Promise<boolean> {
    const path = this.unitPath(location);
    for (const mount of this.mounts()) if (isDirectory(cgroupDir(mount, path))) return true;
    return false;
  }

  /**
   * Removes the unit's cgroup in every hierarchy, sub-cgroups first, then each enclosing slice
   * that has become empty. Processes are not killed here: a populated scope fails with EBUSY once
   * busyTimeoutMs has passed.
   */
  async remove(location: UnitLocation): Promise<void> {
    const path = this.unitPath(location);
    let failure: unknown;
    // Also the v1 controller directories setLimits may have made (they are empty by now).
    const limitMounts = this.v1LimitMounts().filter((m) => existsSync(cgroupDir(m, path)));
    for (const mount of [...this.mounts(), ...limitMounts]) {
      try {
        await removeCgroupTree(cgroupDir(mount, path), { busyTimeoutMs: this.busyTimeoutMs });
      } catch (err) {
        failure ??= err;
        continue;
      }
      this.removeEmptySlices(mount, path);
    }
    if (failure !== undefined) throw failure;
  }

  private removeEmptySlices(mount: string, unitPath: string): void {
    const components = unitPath.split('/').filter((c) => c !== '');
    for (let depth = components.length - 1; depth > 0; depth--) {
      if (!components[depth - 1]!.endsWith('.slice')) break;
      const slice = `/${components.slice(0, depth).join('/')}`;
      // Other machines may still live in the slice: then it stays.
      let removed = false;
      try {
        removed = removeIfUnused(cgroupDir(mount, slice));
      } catch {
        removed = false;
      }
      if (!removed) break;
    }
  }

  async accounting(location: UnitLocation): Promise<Accounting> {
    const path = this.unitPath(location);
    const readText = (file: string): string | undefined => {
      try {
        return readOptionalFile(file);
      } catch {
        return undefined;
      }
    };
    const read = (mount: string | undefined, file: string): bigint | undefined => {
      if (mount === undefined) return undefined;
      const text = readText(join(cgroupDir(mount, path), file));
      const value = text?.trim();
      return value !== undefined && /^[0-9]+$/.test(value) ? BigInt(value) : undefined;
    };
    const cpuStat = this.layout.unified === undefined
      ? undefined
      : readText(join(cgroupDir(this.layout.unified, path), 'cpu.stat'));
    const usageUsec = cpuStat === undefined ? undefined : /^usage_usec ([0-9]+)$/m.exec(cpuStat)?.[1];
    const { controllers, unified } = this.layout;

    const memoryCurrent = read(unified, 'memory.current') ?? read(controllers['memory'], 'memory.usage_in_bytes');
    const cpuUsageNsec = usageUsec !== undefined ? BigInt(usageUsec) * 1000n : read(controllers['cpuacct'], 'cpuacct.usage');
    const tasksCurrent = read(unified, 'pids.current') ?? read(controllers['pids'], 'pids.current');
    return {
      ...(memoryCurrent !== undefined ? { memoryCurrent } : {}),
      ...(cpuUsageNsec !== undefined ? { cpuUsageNsec } : {}),
      ...(tasksCurrent !== undefined ? { tasksCurrent } : {}),
    };
  }

  private v1LimitMounts(): string[] {
    if (this.layout.hierarchy === 'unified') return [];
    const controllers = new Set(Object.values(RESOURCE_LIMITS).flatMap((l) => (l.v1 ? [l.v1.controller] : [])));
    return [...controllers].map((c) => this.layout.controllers[c]).filter((m): m is string => m !== undefined);
  }

  /** Where a limit is enforced for this unit: the cgroup2 file, or a v1 controller's. */
  private limitTarget(path: string, spec: LimitSpec): { file: string; v1Mount?: string } | undefined {
    if (this.layout.unified !== undefined) {
      const file = join(cgroupDir(this.layout.unified, path), spec.unifiedFile);
      if (existsSync(file)) return { file };
    }
    const mount = spec.v1 && this.layout.hierarchy !== 'unified' ? this.layout.controllers[spec.v1.controller] : undefined;
    if (mount !== undefined && spec.v1) return { file: join(cgroupDir(mount, path), spec.v1.file), v1Mount: mount };
    return undefined;
  }

  async setLimits(location: UnitLocation, limits: Array<[string, bigint]>): Promise<void> {
    const path = this.unitPath(location);
    const writes: Array<{ file: string; text: string; v1Mount?: string }> = [];
    for (const [name, value] of limits) {
      const spec = RESOURCE_LIMITS[name];
      const target = spec ? this.limitTarget(path, spec) : undefined;
      if (!spec || !target) throw new CgroupError('ENOTSUP', `${name} cannot be enforced for ${location.unit} on this host`);
      writes.push({ ...target, text: spec.format(value) });
    }
    const members = this.mounts().length > 0 ? readTreeProcs(cgroupDir(this.mounts()[0]!, path)) : [];
    for (const w of writes) {
      if (w.v1Mount !== undefined && !existsSync(w.file)) {
        // First limit through this v1 controller: the unit gets its cgroup there, and every process
        // of the unit moves in (what they fork later is born inside).
        makeCgroup(w.v1Mount, path);
        for (const pid of members) {
          try {
            movePid(cgroupDir(w.v1Mount, path), pid);
          } catch {
            // Exited meanwhile.
          }
        }
      }
      try {
        writeFileSync(w.file, w.text);
      } catch (err) {
        throw cgroupFailure('Cannot write', w.file, err);
      }
    }
  }

  async readLimit(location: UnitLocation, name: string): Promise<bigint | undefined> {
    const spec = RESOURCE_LIMITS[name];
    const target = spec ? this.limitTarget(this.unitPath(location), spec) : undefined;
    if (!spec || !target) return undefined;
    try {
      const text = readOptionalFile(target.file);
      return text === undefined ? undefined : spec.parse(text);
    } catch {
      return undefined;
    }
  }

  async unitOfPid(pid: number): Promise<UnitLocation | null> {
    const path = systemdCgroupPath(readProcCgroup(pid, this.procRoot), this.hierarchy);
    return path === undefined ? null : unitFromCgroupPath(path);
  }

  async close(): Promise<void> {
    for (const stop of this.watches) stop();
    this.watches.clear();
  }
}
