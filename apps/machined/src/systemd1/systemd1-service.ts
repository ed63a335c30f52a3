/**
 * The slice of org.freedesktop.systemd1 machined answers where PID 1 is not systemd: the units of
 * its own machines (scopes it made, and the units nspawn registered from), their processes, kill,
 * stop with job signals, resource limits, and RequestStop for graceful termination. Other methods
 * of systemd's Manager are not offered (UnknownMethod), other units do not exist (NoSuchUnit), so
 * no tool mistakes this host for one running systemd.
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
  type ObjectServer,
  type ObjectTree,
  type ServedInterface,
  type ServedObject,
} from '@machined/protocol';
import type { Machine } from '../registry/machine.js';
import type { Registry } from '../registry/registry.js';
import { Jobs, type Job } from './jobs.js';
import { applyLimits } from './unit-limits.js';
import { unitProcesses } from './unit-processes.js';
import { unitObject, type UnitHandlers } from './unit-object.js';

const MANAGE_UNITS = 'org.freedesktop.systemd1.manage-units';
const JOB_MODES = ['replace', 'fail', 'isolate', 'ignore-dependencies', 'ignore-requirements', 'flush', 'triggering'];

export class Systemd1Service implements ObjectTree {
  private readonly jobs: Jobs;
  private readonly stopJobs = new Map<Machine, Job[]>();
  private readonly manager: ServedInterface;
  private readonly handlers: UnitHandlers;

  constructor(
    private readonly registry: Registry,
    private readonly backend: ScopeBackend,
    private readonly authorizer: Authorizer,
    private readonly server: () => ObjectServer,
  ) {
    const emit = (member: string, body: unknown[]) => this.server().emitSignal(SYSTEMD1_PATH, SYSTEMD1_MANAGER, member, body);
    this.jobs = new Jobs({
      jobNew: (id, path, unit) => emit('JobNew', [id, path, unit]),
      jobRemoved: (id, path, unit, result) => emit('JobRemoved', [id, path, unit, result]),
    });
    registry.on('added', (m) => emit('UnitNew', [m.unit, systemdUnitObjectPath(m.unit)]));
    registry.on('removed', (m) => {
      for (const job of this.stopJobs.get(m) ?? []) job.finish('done');
      this.stopJobs.delete(m);
      emit('UnitRemoved', [m.unit, systemdUnitObjectPath(m.unit)]);
    });
    this.handlers = {
      kill: (ctx, m, whom, signal) => this.kill(ctx, m, whom, signal),
      stop: (ctx, m, mode) => this.stop(ctx, m, mode),
      setProperties: (ctx, m, _runtime, props) => this.setProperties(ctx, m, props),
    };
    this.manager = this.managerInterface();
  }

  /**
   * For Registry.setStopRequester: systemd-nspawn (the scope's Controller) stops its container
   * cleanly when systemd1 emits RequestStop on the scope, as upstream's scope stop does.
   */
  requestStop(m: Machine): boolean {
    const controller = m.scopeProperties.find(([k]) => k === 'Controller')?.[2];
    if (!m.unit.endsWith('.scope') || typeof controller !== 'string' || controller === '') return false;
    this.server().emitSignal(systemdUnitObjectPath(m.unit), SYSTEMD1_SCOPE, 'RequestStop', []);
    return true;
  }

  resolve(path: string): ServedObject | null {
    if (path === SYSTEMD1_PATH) return { interfaces: [this.manager] };
    const m = this.machineAt(path);
    return m ? unitObject(m, this.backend, this.handlers) : null;
  }

  children(path: string): string[] {
    if (path === SYSTEMD1_PATH) return this.units().length > 0 ? ['unit'] : [];
    if (path === SYSTEMD1_UNIT_PATH_PREFIX) return this.units().map((m) => busLabelEscape(m.unit));
    return ancestorChildren(SYSTEMD1_PATH, path);
  }

  private units(): Machine[] {
    return this.registry.list().filter((m) => !m.isHost && m.unit !== '');
  }

  private machineAt(path: string): Machine | undefined {
    if (!path.startsWith(`${SYSTEMD1_UNIT_PATH_PREFIX}/`)) return undefined;
    const unit = busLabelUnescape(path.slice(SYSTEMD1_UNIT_PATH_PREFIX.length + 1));
    return unit === null ? undefined : this.registry.findByUnit(unit);
  }

  private unit(name: string): Machine {
    const m = this.registry.findByUnit(name);
    if (!m) throw Errors.noSuchUnit(name);
    return m;
  }

  private async authorize(ctx: CallContext, m: Machine, verb: string): Promise<void> {
    await this.authorizer.authorize(ctx, MANAGE_UNITS, { unit: m.unit, verb }, { ownerUid: m.uid });
  }

  private async kill(ctx: CallContext, m: Machine, whom: string, signal: number): Promise<unknown[]> {
    if (!['all', 'main', ''].includes(whom)) throw Errors.invalidKillWhom(whom);
    if (!signalIsValid(signal)) throw Errors.invalidSignal(signal);
    await this.authorize(ctx, m, 'kill');
    // A scope has no main process; for a machine the leader is the one that counts.
    await this.registry.kill(m, whom === 'main' ? 'leader' : 'all', signal);
    return [];
  }

  private async stop(ctx: CallContext, m: Machine, mode: string): Promise<unknown[]> {
    if (!JOB_MODES.includes(mode)) throw Errors.invalidJobMode(mode);
    await this.authorize(ctx, m, 'stop');
    const job = this.jobs.create(m.unit, 'stop');
    this.stopJobs.set(m, [...(this.stopJobs.get(m) ?? []), job]);
    await this.registry.terminate(m);
    return [job.path];
  }

  private async setProperties(ctx: CallContext, m: Machine, props: Array<[string, { signature: string; value: unknown }]>): Promise<unknown[]> {
    await this.authorize(ctx, m, 'set-property');
    if (!m.location) throw Errors.unitPropertyNotSupported(props[0]?.[0] ?? '', m.unit);
    await applyLimits(this.backend, m.unit, m.location, props);
    return [];
  }

  private managerInterface(): ServedInterface {
    const unitPath = (m: Machine) => systemdUnitObjectPath(m.unit);
    return {
      spec: SYSTEMD1_MANAGER,
      methods: {
        GetUnit: (_ctx, name: string) => [unitPath(this.unit(name))],
        LoadUnit: (_ctx, name: string) => {
          const m = this.registry.findByUnit(name);
          if (!m) throw Errors.unitNotFound(name);
          return [unitPath(m)];
        },
        GetUnitByPID: async (ctx, pid: number) => {
          const target = pid === 0 ? (await ctx.caller()).pid : pid;
          const m = await this.registry.findByPid(target);
          if (!m || m.isHost) throw Errors.noUnitForPid(target);
          return [unitPath(m)];
        },
        GetUnitProcesses: async (_ctx, name: string) => {
          const m = this.unit(name);
          return [m.location ? await unitProcesses(this.backend, m.location) : []];
        },
        KillUnit: (ctx, name: string, whom: string, signal: number) => this.kill(ctx, this.unit(name), whom, signal),
        StopUnit: (ctx, name: string, mode: string) => this.stop(ctx, this.unit(name), mode),
        SetUnitProperties: (ctx, name: string, _runtime: boolean, props) => this.setProperties(ctx, this.unit(name), props),
        // Signals go to every client anyway; subscribing changes nothing here.
        Subscribe: () => [],
        Unsubscribe: () => [],
      },
      properties: {},
    };
  }
}

