/**
 * The machines of this host: creating, registering, looking up, terminating and forgetting them.
 * A machine lives as long as its leader and its processes: the scope emptying (inotify) or the
 * leader exiting (polled) removes it, whichever comes first.
 */
import { EventEmitter } from 'node:events';
import type { ScopeBackend, UnitLocation } from '@machined/cgroup';
import {
  BusError,
  Errors,
  isBusError,
  machineScopeUnitName,
  unitNameIsValid,
  type KillWhom,
  type Logger,
} from '@machined/protocol';
import { now } from '../clock.js';
import type { StateStore } from '../state/state-store.js';
import { HeapTrim } from './heap-trim.js';
import { createHostMachine } from './host-machine.js';
import { Machine } from './machine.js';
import { scopeDescription, type MachineRequest } from './machine-request.js';
import { processAlive, processInfo } from './process-info.js';
import { ScopeStopper } from './scope-stopper.js';

export interface Caller {
  uid: number;
  pid: number;
}

export interface RegistryOptions {
  backend: ScopeBackend;
  store: StateStore;
  log: Logger;
  terminateTimeoutMs: number;
  /** How often leaders are checked for having exited. */
  leaderPollMs?: number;
}

interface RegistryEvents {
  added: [Machine];
  removed: [Machine];
  changed: [Machine];
}

export class Registry extends EventEmitter<RegistryEvents> {
  readonly host: Machine = createHostMachine();
  private readonly machines = new Map<string, Machine>([[this.host.name, this.host]]);
  private readonly byUnit = new Map<string, Machine>();
  private readonly byLeader = new Map<number, Machine>();
  /** Names whose Create/Register is under way: a second call must fail even before the first lands. */
  private readonly reserved = new Set<string>();
  private readonly unwatch = new Map<Machine, () => void>();
  private readonly stopper: ScopeStopper;
  private readonly heapTrim = new HeapTrim();
  private poller: NodeJS.Timeout | null = null;
  private stopRequester: ((m: Machine) => boolean) | null = null;

  constructor(private readonly opts: RegistryOptions) {
    super();
    this.stopper = new ScopeStopper(opts.backend, opts.log, opts.terminateTimeoutMs);
  }

  get backend(): ScopeBackend {
    return this.opts.backend;
  }

  list(): Machine[] {
    return [...this.machines.values()];
  }

  get size(): number {
    return this.machines.size;
  }

  find(name: string): Machine | undefined {
    return this.machines.get(name);
  }

  get(name: string): Machine {
    const m = this.machines.get(name);
    if (!m) throw Errors.noSuchMachine(name);
    return m;
  }

  findByUnit(unit: string): Machine | undefined {
    return this.byUnit.get(unit);
  }

  /**
   * How a graceful stop is asked of a machine's controller (systemd-nspawn listens for systemd1's
   * RequestStop on its scope). Returns true when the request was sent; then only SIGKILL after the
   * timeout follows, instead of SIGTERM to every process.
   */
  setStopRequester(requester: (m: Machine) => boolean): void {
    this.stopRequester = requester;
  }

  /** The machine a process belongs to: as its leader, or through the unit its cgroup is in. */
  async findByPid(pid: number): Promise<Machine | undefined> {
    return this.ledBy(pid) ?? (await this.unitMachineOfPid(pid)).machine;
  }

  /** The machine a PID leads (1 is the host's). */
  private ledBy(pid: number): Machine | undefined {
    return pid === 1 ? this.host : this.byLeader.get(pid);
  }

  /** The unit a PID sits in (null when none or unknown), and the machine that unit belongs to. */
  private async unitMachineOfPid(pid: number): Promise<{ loc: UnitLocation | null; machine: Machine | undefined }> {
    const loc = await this.opts.backend.unitOfPid(pid).catch(() => null);
    return { loc, machine: loc ? this.byUnit.get(loc.unit) : undefined };
  }

  async getByPid(pid: number): Promise<Machine> {
    const m = await this.findByPid(pid);
    if (!m) throw Errors.noMachineForPid(pid);
    return m;
  }

  /** CreateMachine*: a new scope in the machine slice with the leader moved in before we answer. */
  async create(req: MachineRequest, caller: Caller): Promise<Machine> {
    return this.withReservedName(req.name, async () => {
      await this.checkLeader(req, caller);
      const location = await this.createScope(req);
      return this.admit(this.machineFrom(req, caller, location, true));
    });
  }

  /**
   * RegisterMachine*: take the unit the leader already sits in (systemd-nspawn@NAME.service under
   * --keep-unit), as upstream does; a leader in no unit at all gets a scope of its own.
   */
  async register(req: MachineRequest, caller: Caller): Promise<Machine> {
    return this.withReservedName(req.name, async () => {
      // One look-up of the leader's unit serves both the check and the registration.
      const loc = await this.checkLeader(req, caller);
      if (loc && unitNameIsValid(loc.unit) && !loc.unit.endsWith('.slice')) {
        const location: UnitLocation = { unit: loc.unit, cgroupPath: loc.cgroupPath, subgroup: '' };
        return this.admit(this.machineFrom(req, caller, location, false));
      }
      const location = await this.createScope(req);
      return this.admit(this.machineFrom(req, caller, location, true));
    });
  }

  /** Forgets the machine without touching its processes; a scope of ours goes once it empties. */
  async unregister(m: Machine): Promise<void> {
    if (m.isHost) throw Errors.hostMachineNotSupported();
    await this.finalize(m, 'unregistered');
    if (m.ownsScope && m.location) this.stopper.stop(m.location, { kill: false, removeWhenEmpty: true });
  }

  /**
   * Under systemd: StopUnit, as upstream. Otherwise SIGTERM to every process (or RequestStop to
   * its controller), SIGKILL after the timeout. The machine goes when its processes are gone.
   */
  async terminate(m: Machine): Promise<void> {
    if (m.isHost) throw Errors.hostMachineNotSupported();
    if (m.state !== 'closing') {
      m.state = 'closing';
      this.emit('changed', m);
    }
    this.opts.log.info(`Terminating machine ${m.name}.`);
    if (m.location && this.opts.backend.kind === 'systemd') {
      // As upstream's machine_stop: StopUnit on the machine's unit, whoever made it. systemd then
      // stops it its own way: RequestStop to a scope's Controller (systemd-nspawn stops its
      // container gracefully), SIGTERM, SIGKILL after the unit's timeout; watchEmpty removes the
      // machine. Signalling the processes ourselves instead would miss the supervisor, which sits
      // outside the scope, and leave a container whose init ignores SIGTERM running.
      await this.opts.backend.remove(m.location);
    } else if (m.location) {
      const requested = this.stopRequester?.(m) ?? false;
      this.stopper.stop(m.location, { kill: true, removeWhenEmpty: m.ownsScope, graceful: requested });
    } else {
      signalProcess(m.leader, 'SIGTERM');
    }
  }

  async kill(m: Machine, whom: KillWhom, signal: number): Promise<void> {
    if (m.isHost) throw Errors.hostMachineNotSupported();
    if (whom === 'leader' || !m.location) {
      signalProcess(m.leader, signal);
      return;
    }
    await this.opts.backend.killAll(m.location, signal);
  }

  /** Re-adopts a machine from its state file after a restart (see restore.ts); no MachineNew. */
  adopt(m: Machine): void {
    this.index(m);
  }

  /** For restore: a scope of ours whose machine is gone still needs its processes and cgroup cleaned up. */
  cleanUpOrphanScope(location: UnitLocation): void {
    this.stopper.stop(location, { kill: true, removeWhenEmpty: true });
  }

  startLeaderPolling(intervalMs = this.opts.leaderPollMs ?? 500): void {
    this.poller = setInterval(() => this.pollLeaders(), intervalMs);
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    for (const stop of this.unwatch.values()) stop();
    this.unwatch.clear();
    this.stopper.close();
    this.heapTrim.close();
  }

  private async withReservedName(name: string, fn: () => Promise<Machine>): Promise<Machine> {
    if (this.machines.has(name) || this.reserved.has(name)) throw Errors.machineExists(name);
    this.reserved.add(name);
    try {
      return await fn();
    } finally {
      this.reserved.delete(name);
    }
  }

  /** Refuses a leader that is gone, someone else's, or in a machine already; returns the unit it sits in. */
  private async checkLeader(req: MachineRequest, caller: Caller): Promise<UnitLocation | null> {
    const info = processInfo(req.leader);
    if (!info) throw Errors.leaderNotFound(req.leader);
    if (caller.uid !== 0 && info.uid !== caller.uid) throw Errors.registerForOtherUser();
    const led = this.ledBy(req.leader);
    if (led) throw Errors.leaderInMachine(req.leader, led.name);
    const { loc, machine } = await this.unitMachineOfPid(req.leader);
    if (machine) throw Errors.leaderInMachine(req.leader, machine.name);
    return loc;
  }

  private async createScope(req: MachineRequest): Promise<UnitLocation> {
    const unit = machineScopeUnitName(req.name);
    try {
      return await this.opts.backend.createScope({
        unit,
        slice: req.slice,
        description: req.description ?? scopeDescription(req.name, req.class),
        pids: [req.leader],
        properties: req.scopeProperties,
      });
    } catch (e) {
      if (isBusError(e)) throw e;
      // systemd's own refusal (an unknown scope property, JobFailed): passed on as it came, as
      // upstream does, so the caller sees what systemd said.
      const fromSystemd = e as { type?: unknown; text?: unknown };
      if (typeof fromSystemd.type === 'string' && typeof fromSystemd.text === 'string') throw new BusError(fromSystemd.type, fromSystemd.text);
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ESRCH' || !processAlive(req.leader)) throw Errors.leaderNotFound(req.leader);
      throw Errors.failed(`Failed to create scope ${unit}: ${err.message}`);
    }
  }

  private machineFrom(req: MachineRequest, caller: Caller, location: UnitLocation, ownsScope: boolean): Machine {
    return new Machine({
      name: req.name,
      id: req.id,
      service: req.service,
      class: req.class,
      leader: req.leader,
      rootDirectory: req.rootDirectory,
      networkInterfaces: req.networkInterfaces,
      unit: location.unit,
      location,
      ownsScope,
      uid: caller.uid,
      timestamp: now(),
      scopeProperties: req.scopeProperties,
    });
  }

  /** Persists, indexes and announces a new machine; undoes the scope if it cannot be persisted. */
  private async admit(m: Machine): Promise<Machine> {
    try {
      await this.opts.store.save(m.toState());
    } catch (e) {
      await this.opts.store.remove(m.name, m.unit).catch(() => {});
      if (m.ownsScope && m.location) await this.opts.backend.remove(m.location).catch(() => {});
      throw Errors.failed(`Failed to save state of machine ${m.name}: ${(e as Error).message}`);
    }
    this.index(m);
    this.opts.log.info(`New machine ${m.name} (leader ${m.leader}, unit ${m.unit}).`);
    this.emit('added', m);
    return m;
  }

  private index(m: Machine): void {
    this.heapTrim.added();
    this.machines.set(m.name, m);
    this.byLeader.set(m.leader, m);
    if (m.unit) this.byUnit.set(m.unit, m);
    if (m.location) {
      const onEmpty = () => void this.gone(m, 'its processes are gone').catch((e: Error) => this.opts.log.error(`Removing ${m.name} failed: ${e.message}`));
      this.unwatch.set(m, this.opts.backend.watchEmpty(m.location, onEmpty));
    }
  }

  private async gone(m: Machine, why: string): Promise<void> {
    if (this.machines.get(m.name) !== m) return;
    await this.finalize(m, why);
    // What the leader left behind stops as the scope would: SIGTERM, then SIGKILL.
    if (m.ownsScope && m.location) this.stopper.stop(m.location, { kill: true, removeWhenEmpty: true });
  }

  private async finalize(m: Machine, why: string): Promise<void> {
    if (this.machines.get(m.name) !== m) return;
    this.machines.delete(m.name);
    if (this.byLeader.get(m.leader) === m) this.byLeader.delete(m.leader);
    if (this.byUnit.get(m.unit) === m) this.byUnit.delete(m.unit);
    this.unwatch.get(m)?.();
    this.unwatch.delete(m);
    this.heapTrim.removed();
    m.state = 'closing';
    try {
      await this.opts.store.remove(m.name, m.unit);
    } catch (e) {
      this.opts.log.warning(`Failed to remove state of machine ${m.name}: ${(e as Error).message}`);
    }
    this.opts.log.info(`Machine ${m.name} removed: ${why}.`);
    this.emit('removed', m);
  }

  private pollLeaders(): void {
    for (const m of [...this.machines.values()]) {
      if (m.isHost) continue;
      let alive: boolean;
      try {
        alive = processAlive(m.leader);
      } catch (e) {
        this.opts.log.warning(`Cannot check leader ${m.leader} of ${m.name}: ${(e as Error).message}`);
        continue;
      }
      if (!alive) void this.gone(m, `leader ${m.leader} exited`).catch((e: Error) => this.opts.log.error(`Removing ${m.name} failed: ${e.message}`));
    }
  }
}

function signalProcess(pid: number, signal: number | NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
