/**
 * The slice of org.freedesktop.systemd1 machined answers where PID 1 is not systemd: the units of
 * its own machines (scopes it made, and the units nspawn registered from), their processes, kill,
 * stop with job signals, resource limits, and RequestStop for graceful termination; starting pool
 * images as `systemd-nspawn@NAME.service` (StartUnit, see launcher/machine-starter.ts) and
 * enabling them for boot (EnableUnitFiles / DisableUnitFiles / Reload, launcher/enablement.ts).
 * Other methods of systemd's Manager are not offered (UnknownMethod), other units do not exist
 * (NoSuchUnit), so no tool mistakes this host for one running systemd.
 */
import type { ScopeBackend } from '@machined/cgroup';
import {
  Errors,
  SYSTEMD1_MANAGER,
  SYSTEMD1_PATH,
  SYSTEMD1_SCOPE,
  SYSTEMD1_UNIT_PATH_PREFIX,
  ancestorChildren,
  busLabelEscape,
  busLabelUnescape,
  signalIsValid,
  systemdUnitObjectPath,
  type Authorizer,
  type CallContext,
  type Logger,
  type ObjectServer,
  type ObjectTree,
  type ServedInterface,
  type ServedObject,
} from '@machined/protocol';
import { MACHINES_TARGET, type Enablement } from '../launcher/enablement.js';
import { StartError, type MachineStarter, type StartedUnit } from '../launcher/machine-starter.js';
import type { Machine } from '../registry/machine.js';
import type { Registry } from '../registry/registry.js';
import { Jobs, type Job } from './jobs.js';
import { nspawnUnitMachine } from './nspawn-unit.js';
import { applyLimits } from './unit-limits.js';
import { unitProcesses } from './unit-processes.js';
import { machineUnitView, startedUnitView, unitObject, type UnitHandlers, type Variant } from './unit-object.js';

const MANAGE_UNITS = 'org.freedesktop.systemd1.manage-units';
const MANAGE_UNIT_FILES = 'org.freedesktop.systemd1.manage-unit-files';

/** Starting machines from the image pool; absent when machined only serves machine units. */
export interface Systemd1Launching {
  starter: MachineStarter;
  enablement: Enablement;
  log: Logger;
}

const JOB_MODES = ['replace', 'fail', 'isolate', 'ignore-dependencies', 'ignore-requirements', 'flush', 'triggering'];

export class Systemd1Service implements ObjectTree {
  private readonly jobs: Jobs;
  /** Stop jobs by unit: done when the machine is removed, or for a started unit when it is gone. */
  private readonly stopJobs = new Map<string, Job[]>();
  private readonly manager: ServedInterface;
  private readonly handlers: UnitHandlers;

  constructor(
    private readonly registry: Registry,
    private readonly backend: ScopeBackend,
    private readonly authorizer: Authorizer,
    private readonly server: () => ObjectServer,
    private readonly launching?: Systemd1Launching,
  ) {
    const emit = (member: string, body: unknown[]) => this.server().emitSignal(SYSTEMD1_PATH, SYSTEMD1_MANAGER, member, body);
    this.jobs = new Jobs({
      jobNew: (id, path, unit) => emit('JobNew', [id, path, unit]),
      jobRemoved: (id, path, unit, result) => emit('JobRemoved', [id, path, unit, result]),
    });
    const starter = launching?.starter;
    // A started service is a unit before its machine registers and after it went: announced then.
    registry.on('added', (m) => {
      if (!starter?.get(m.unit)) emit('UnitNew', [m.unit, systemdUnitObjectPath(m.unit)]);
    });
    registry.on('removed', (m) => {
      // A started unit is stopped once its launcher is gone too ('gone' below).
      if (starter?.get(m.unit)) return;
      for (const job of this.stopJobs.get(m.unit) ?? []) job.finish('done');
      this.stopJobs.delete(m.unit);
      emit('UnitRemoved', [m.unit, systemdUnitObjectPath(m.unit)]);
    });
    starter?.on('gone', (s) => {
      for (const job of this.stopJobs.get(s.unit) ?? []) job.finish('done');
      this.stopJobs.delete(s.unit);
      if (!registry.findByUnit(s.unit)) emit('UnitRemoved', [s.unit, systemdUnitObjectPath(s.unit)]);
    });
    this.handlers = {
      kill: (ctx, unit, whom, signal) => this.kill(ctx, unit, whom, signal),
      stop: (ctx, unit, mode) => this.stop(ctx, unit, mode),
      setProperties: (ctx, unit, _runtime, props) => this.setProperties(ctx, unit, props),
    };
    this.manager = this.managerInterface();
  }

  /**
   * For Registry.setStopRequester: systemd-nspawn (the scope's Controller) stops its container
   * cleanly when systemd1 emits RequestStop on the scope, as upstream's scope stop does.
   */
  requestStop(m: Machine): boolean {
    if (this.launching?.starter.get(m.unit)) return this.launching.starter.requestStop(m);
    const controller = m.scopeProperties.find(([k]) => k === 'Controller')?.[2];
    if (!m.unit.endsWith('.scope') || typeof controller !== 'string' || controller === '') return false;
    // To the Controller only: nspawn matches RequestStop without a path, so a broadcast would stop
    // every nspawn container on the bus.
    this.server().emitSignal(systemdUnitObjectPath(m.unit), SYSTEMD1_SCOPE, 'RequestStop', [], controller);
    return true;
  }

  resolve(path: string): ServedObject | null {
    if (path === SYSTEMD1_PATH) return { interfaces: [this.manager] };
    if (!path.startsWith(`${SYSTEMD1_UNIT_PATH_PREFIX}/`)) return null;
    const unit = busLabelUnescape(path.slice(SYSTEMD1_UNIT_PATH_PREFIX.length + 1));
    const u = unit === null ? undefined : this.findUnit(unit);
    if (!u) return null;
    const view = u.machine ? machineUnitView(u.machine, u.started) : startedUnitView(u.started!);
    return unitObject(view, this.backend, this.handlers);
  }

  children(path: string): string[] {
    if (path === SYSTEMD1_PATH) return this.unitNames().length > 0 ? ['unit'] : [];
    if (path === SYSTEMD1_UNIT_PATH_PREFIX) return this.unitNames().map(busLabelEscape);
    return ancestorChildren(SYSTEMD1_PATH, path);
  }

  private unitNames(): string[] {
    const machines = this.registry.list().filter((m) => !m.isHost && m.unit !== '').map((m) => m.unit);
    const started = this.launching?.starter.list().map((s) => s.unit) ?? [];
    return [...new Set([...machines, ...started])];
  }

  /** A unit we know: a machine's, one machined started, or both (nspawn registers its service). */
  private findUnit(name: string): { machine?: Machine; started?: StartedUnit } | undefined {
    const m = this.registry.findByUnit(name);
    const machine = m && !m.isHost ? m : undefined;
    const started = this.launching?.starter.get(name);
    return machine || started ? { machine, started } : undefined;
  }

  private unit(name: string): { machine?: Machine; started?: StartedUnit } {
    const u = this.findUnit(name);
    if (!u) throw Errors.noSuchUnit(name);
    return u;
  }

  private async authorize(ctx: CallContext, unit: string, verb: string, ownerUid?: number): Promise<void> {
    await this.authorizer.authorize(ctx, MANAGE_UNITS, { unit, verb }, ownerUid === undefined ? {} : { ownerUid });
  }

  private async kill(ctx: CallContext, name: string, whom: string, signal: number): Promise<unknown[]> {
    const { machine: m, started } = this.unit(name);
    if (!['all', 'main', ''].includes(whom)) throw Errors.invalidKillWhom(whom);
    if (!signalIsValid(signal)) throw Errors.invalidSignal(signal);
    await this.authorize(ctx, name, 'kill', m?.uid);
    if (started) {
      // A service's main process is the launcher (nspawn), as under systemd.
      if (whom === 'main') process.kill(started.mainPid, signal);
      else await this.backend.killAll(started.location, signal);
      return [];
    }
    // A scope has no main process; for a machine the leader is the one that counts.
    await this.registry.kill(m!, whom === 'main' ? 'leader' : 'all', signal);
    return [];
  }

  private async stop(ctx: CallContext, name: string, mode: string): Promise<unknown[]> {
    const { machine: m, started } = this.unit(name);
    if (!JOB_MODES.includes(mode)) throw Errors.invalidJobMode(mode);
    await this.authorize(ctx, name, 'stop', m?.uid);
    const job = this.jobs.create(name, 'stop');
    this.stopJobs.set(name, [...(this.stopJobs.get(name) ?? []), job]);
    if (started) this.launching!.starter.stop(name);
    else await this.registry.terminate(m!);
    return [job.path];
  }

  private async setProperties(ctx: CallContext, name: string, props: Array<[string, Variant]>): Promise<unknown[]> {
    const { machine: m, started } = this.unit(name);
    await this.authorize(ctx, name, 'set-property', m?.uid);
    const location = m?.location ?? started?.location;
    if (!location) throw Errors.unitPropertyNotSupported(props[0]?.[0] ?? '', name);
    await applyLimits(this.backend, name, location, props);
    return [];
  }

  /**
   * StartUnit: a unit that is active already gets a job that is done at once; a
   * `systemd-nspawn@NAME.service` is launched from the image pool, its job done once the machine
   * registered and failed if the launcher exits first; nothing else can be started here.
   */
  private async start(ctx: CallContext, name: string, mode: string): Promise<unknown[]> {
    if (!JOB_MODES.includes(mode)) throw Errors.invalidJobMode(mode);
    const known = this.findUnit(name);
    const machineName = nspawnUnitMachine(name);
    if (!known && (machineName === null || !this.launching)) throw Errors.unitNotFound(name);
    await this.authorize(ctx, name, 'start', known?.machine?.uid);
    return [this.startJob(name, machineName).path];
  }

  /** The start job of a unit; JobRemoved follows the reply that carries the job path. */
  private startJob(name: string, machineName: string | null): Job {
    const known = this.findUnit(name);
    const job = this.jobs.create(name, 'start');
    // Clients match JobRemoved against the path in the reply: it must come after it.
    const finish = (result: 'done' | 'failed') => setImmediate(() => job.finish(result));
    if (known && known.started?.state !== 'deactivating') {
      if (known.started?.state === 'activating') void known.started.registered.then((ok) => finish(ok ? 'done' : 'failed'));
      else finish('done');
      return job;
    }
    void (async () => {
      // Stopping: systemd queues the start after the stop.
      if (known?.started) await known.started.gone;
      const s = await this.launching!.starter.start(machineName!, name);
      this.server().emitSignal(SYSTEMD1_PATH, SYSTEMD1_MANAGER, 'UnitNew', [name, systemdUnitObjectPath(name)]);
      return s.registered;
    })().then(
      (ok) => finish(ok ? 'done' : 'failed'),
      (e: Error) => {
        this.log(`Failed to start ${name}: ${e instanceof StartError ? e.message : String(e)}`);
        finish('failed');
      },
    );
    return job;
  }

  /**
   * At start-up: the machines enabled for boot, unless machines.target was disabled (as systemd
   * pulls them in through multi-user.target → machines.target). Those running already are left be.
   */
  startEnabled(): number {
    const launching = this.launching;
    if (!launching) return 0;
    launching.enablement.load();
    if (!launching.enablement.targetEnabled()) return 0;
    let started = 0;
    for (const unit of launching.enablement.enabledMachineUnits()) {
      const machineName = nspawnUnitMachine(unit);
      if (machineName === null || this.findUnit(unit) || this.registry.find(machineName)) continue;
      launching.log.info(`Starting ${unit}: enabled for boot.`);
      this.startJob(unit, machineName);
      started++;
    }
    return started;
  }

  private log(line: string): void {
    this.launching?.log.warning(line);
  }

  private unitFile(name: string): string {
    if (name === MACHINES_TARGET || nspawnUnitMachine(name) !== null) return name;
    throw Errors.noSuchUnitFile(name);
  }

  private async enableUnitFiles(ctx: CallContext, files: string[], runtime: boolean): Promise<unknown[]> {
    const units = files.map((f) => this.unitFile(f));
    await this.authorizer.authorize(ctx, MANAGE_UNIT_FILES, { verb: 'enable' });
    return [true, this.launching!.enablement.enable(units, runtime)];
  }

  private async disableUnitFiles(ctx: CallContext, files: string[], runtime: boolean): Promise<unknown[]> {
    const units = files.map((f) => this.unitFile(f));
    await this.authorizer.authorize(ctx, MANAGE_UNIT_FILES, { verb: 'disable' });
    return [this.launching!.enablement.disable(units, runtime)];
  }

  private managerInterface(): ServedInterface {
    const unitPath = (m: Machine) => systemdUnitObjectPath(m.unit);
    return {
      spec: SYSTEMD1_MANAGER,
      methods: {
        GetUnit: (_ctx, name: string) => {
          this.unit(name);
          return [systemdUnitObjectPath(name)];
        },
        LoadUnit: (_ctx, name: string) => {
          if (!this.findUnit(name)) throw Errors.unitNotFound(name);
          return [systemdUnitObjectPath(name)];
        },
        GetUnitByPID: async (ctx, pid: number) => {
          const target = pid === 0 ? (await ctx.caller()).pid : pid;
          const m = await this.registry.findByPid(target);
          if (!m || m.isHost) throw Errors.noUnitForPid(target);
          return [unitPath(m)];
        },
        GetUnitProcesses: async (_ctx, name: string) => {
          const { machine, started } = this.unit(name);
          const location = machine?.location ?? started?.location;
          return [location ? await unitProcesses(this.backend, location) : []];
        },
        KillUnit: (ctx, name: string, whom: string, signal: number) => this.kill(ctx, name, whom, signal),
        StartUnit: (ctx, name: string, mode: string) => this.start(ctx, name, mode),
        StopUnit: (ctx, name: string, mode: string) => this.stop(ctx, name, mode),
        SetUnitProperties: (ctx, name: string, _runtime: boolean, props) => this.setProperties(ctx, name, props),
        ...(this.launching
          ? {
              EnableUnitFiles: (ctx, files: string[], runtime: boolean, _force: boolean) => this.enableUnitFiles(ctx, files, runtime),
              DisableUnitFiles: (ctx, files: string[], runtime: boolean) => this.disableUnitFiles(ctx, files, runtime),
              // Unit files are lines of one file here; reloading re-reads it.
              Reload: () => {
                this.launching!.enablement.load();
                return [];
              },
            }
          : {}),
        // Signals go to every client anyway; subscribing changes nothing here.
        Subscribe: () => [],
        Unsubscribe: () => [],
      },
      properties: {},
    };
  }
}

