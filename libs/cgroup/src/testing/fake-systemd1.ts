/**
 * Just enough of org.freedesktop.systemd1 for the systemd scope backend's tests: it records every
 * call and lets the test decide when (and how) each start job ends.
 */
import { EventEmitter } from 'node:events';
import dbus, { type MessageBus, type Variant } from 'dbus-next';
import { systemdUnitObjectPath } from '@machined/protocol';
import { connectBus } from './private-bus.js';

const { Interface } = dbus.interface;

export interface RecordedCall {
  member: string;
  args: unknown[];
}

/** When JobRemoved goes out: after the reply (like systemd), before it (a race the client must survive), or on finishJob(). */
export type JobMode = 'after-reply' | 'before-reply' | 'manual';

class UnitIface extends Interface {
  Id: string;
  private state = 'active';
  /** `onRead` hears every read of ActiveState over the bus, so tests can see when a watch looked. */
  constructor(id: string, private readonly onRead: () => void = () => undefined) {
    super('org.freedesktop.systemd1.Unit');
    this.Id = id;
  }
  get ActiveState(): string {
    this.onRead();
    return this.state;
  }
  set ActiveState(state: string) {
    this.state = state;
  }
}
UnitIface.configureMembers({
  properties: { Id: { signature: 's', access: 'read' }, ActiveState: { signature: 's', access: 'read' } },
});

class ScopeIface extends Interface {
  ControlGroup: string;
  MemoryCurrent = 2n ** 64n - 1n;
  CPUUsageNSec = 123_000n;
  TasksCurrent = 2n;
  constructor(controlGroup: string) {
    super('org.freedesktop.systemd1.Scope');
    this.ControlGroup = controlGroup;
  }
}
ScopeIface.configureMembers({
  properties: {
    ControlGroup: { signature: 's', access: 'read' },
    MemoryCurrent: { signature: 't', access: 'read' },
    CPUUsageNSec: { signature: 't', access: 'read' },
    TasksCurrent: { signature: 't', access: 'read' },
  },
});

interface FakeUnit {
  name: string;
  path: string;
  pids: number[];
  unit: UnitIface;
  scope: ScopeIface;
}

function noSuchUnit(name: string): Error {
  return new dbus.DBusError('org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not loaded.`);
}

class ManagerIface extends Interface {
  constructor(private readonly fake: FakeSystemd1) {
    super('org.freedesktop.systemd1.Manager');
  }
  StartTransientUnit(name: string, mode: string, properties: Array<[string, Variant]>, aux: unknown[]): string {
    return this.fake.startTransientUnit(name, mode, properties, aux);
  }
  GetUnit(name: string): string {
    this.fake.record('GetUnit', [name]);
    const unit = this.fake.units.get(name);
    if (!unit) throw noSuchUnit(name);
    return unit.path;
  }
  GetUnitByPID(pid: number): string {
    this.fake.record('GetUnitByPID', [pid]);
    for (const unit of this.fake.units.values()) if (unit.pids.includes(pid)) return unit.path;
    throw new dbus.DBusError('org.freedesktop.systemd1.NoUnitForPID', `PID ${pid} does not belong to any loaded unit.`);
  }
  GetUnitProcesses(name: string): Array<[string, number, string]> {
    this.fake.record('GetUnitProcesses', [name]);
    const unit = this.fake.units.get(name);
    if (!unit) throw noSuchUnit(name);
    return unit.pids.map((pid) => [unit.scope.ControlGroup, pid, `sleep ${pid}`]);
  }
  AttachProcessesToUnit(name: string, subcgroup: string, pids: number[]): void {
    this.fake.record('AttachProcessesToUnit', [name, subcgroup, pids]);
    const unit = this.fake.units.get(name);
    if (!unit) throw noSuchUnit(name);
    unit.pids.push(...pids);
  }
  KillUnit(name: string, whom: string, signal: number): void {
    this.fake.record('KillUnit', [name, whom, signal]);
    if (!this.fake.units.has(name)) throw noSuchUnit(name);
  }
  StopUnit(name: string, mode: string): string {
    this.fake.record('StopUnit', [name, mode]);
    if (!this.fake.units.has(name)) throw noSuchUnit(name);
    return `/org/freedesktop/systemd1/job/${this.fake.nextJob++}`;
  }
  UnrefUnit(name: string): void {
    this.fake.record('UnrefUnit', [name]);
  }
  Subscribe(): void {
    this.fake.record('Subscribe', []);
  }
  JobRemoved(id: number, job: string, unit: string, result: string): unknown[] {
    return [id, job, unit, result];
  }
  UnitRemoved(unit: string, path: string): unknown[] {
    return [unit, path];
  }
}
ManagerIface.configureMembers({
  methods: {
    StartTransientUnit: { inSignature: 'ssa(sv)a(sa(sv))', outSignature: 'o' },
    GetUnit: { inSignature: 's', outSignature: 'o' },
    GetUnitByPID: { inSignature: 'u', outSignature: 'o' },
    GetUnitProcesses: { inSignature: 's', outSignature: 'a(sus)' },
    AttachProcessesToUnit: { inSignature: 'ssau', outSignature: '' },
    KillUnit: { inSignature: 'ssi', outSignature: '' },
    StopUnit: { inSignature: 'ss', outSignature: 'o' },
    UnrefUnit: { inSignature: 's', outSignature: '' },
    Subscribe: { inSignature: '', outSignature: '' },
  },
  signals: { JobRemoved: { signature: 'uoss' }, UnitRemoved: { signature: 'so' } },
});

export class FakeSystemd1 extends EventEmitter {
  readonly calls: RecordedCall[] = [];
  readonly units = new Map<string, FakeUnit>();
  /** Start jobs waiting for finishJob(), in manual mode. */
  readonly pendingJobs = new Map<string, string>();
  jobMode: JobMode = 'after-reply';
  jobResult = 'done';
  nextJob = 1;
  private readonly manager = new ManagerIface(this);

  private constructor(readonly bus: MessageBus) {
    super();
  }

  static async start(address: string): Promise<FakeSystemd1> {
    const fake = new FakeSystemd1(await connectBus(address));
    fake.bus.export('/org/freedesktop/systemd1', fake.manager);
    await fake.bus.requestName('org.freedesktop.systemd1', 0);
    return fake;
  }

  record(member: string, args: unknown[]): void {
    this.calls.push({ member, args });
    this.emit('call', member);
  }

  callsTo(member: string): RecordedCall[] {
    return this.calls.filter((c) => c.member === member);
  }

  startTransientUnit(name: string, mode: string, properties: Array<[string, Variant]>, aux: unknown[]): string {
    this.record('StartTransientUnit', [name, mode, properties, aux]);
    if (this.units.has(name)) throw new dbus.DBusError('org.freedesktop.systemd1.UnitExists', `Unit ${name} already exists.`);
    const slice = String(properties.find(([key]) => key === 'Slice')?.[1].value ?? 'system.slice');
    const pids = (properties.find(([key]) => key === 'PIDs')?.[1].value ?? []) as number[];
    const path = systemdUnitObjectPath(name);
    const unitIface = new UnitIface(name, () => this.record('Get', [name, 'ActiveState']));
    const unit: FakeUnit = { name, path, pids: [...pids], unit: unitIface, scope: new ScopeIface(`/${slice}/${name}`) };
    this.units.set(name, unit);
    this.bus.export(path, unit.unit);
    this.bus.export(path, unit.scope);
    const job = `/org/freedesktop/systemd1/job/${this.nextJob++}`;
    if (this.jobMode === 'before-reply') this.manager.JobRemoved(1, job, name, this.jobResult);
    else if (this.jobMode === 'after-reply') setImmediate(() => this.manager.JobRemoved(1, job, name, this.jobResult));
    else this.pendingJobs.set(job, name);
    this.emit('job', job);
    return job;
  }

  finishJob(job: string, result: string): void {
    const unit = this.pendingJobs.get(job);
    if (unit === undefined) throw new Error(`no pending job ${job}`);
    this.pendingJobs.delete(job);
    this.manager.JobRemoved(1, job, unit, result);
  }

  /** The unit ends: ActiveState inactive first (as systemd does), then UnitRemoved unless told otherwise. */
  endUnit(name: string, how: { propertiesChanged?: boolean; unitRemoved?: boolean } = {}): void {
    const unit = this.units.get(name);
    if (!unit) throw new Error(`no unit ${name}`);
    if (how.propertiesChanged ?? true) {
      unit.unit.ActiveState = 'inactive';
      Interface.emitPropertiesChanged(unit.unit, { ActiveState: 'inactive' }, []);
    }
    if (how.unitRemoved ?? true) {
      this.units.delete(name);
      // Whole object: dbus-next 0.10's unexport(path, iface) drops the object after the first interface anyway.
      (this.bus as unknown as { unexport(path: string): void }).unexport(unit.path);
      this.manager.UnitRemoved(name, unit.path);
    }
  }

  /**
   * What systemd serves on the object path of a unit it does not have: it loads the name, finds
   * nothing, and answers for a `not-found` stub whose ActiveState is inactive (GetUnit still says
   * NoSuchUnit). dbus-next has no fallback paths, so a test asks for the stubs it needs.
   */
  notFoundStub(name: string): void {
    const stub = new UnitIface(name, () => this.record('Get', [name, 'ActiveState']));
    stub.ActiveState = 'inactive';
    this.bus.export(systemdUnitObjectPath(name), stub);
  }

  /** Emits UnitRemoved without touching the unit, to tell the two end signals apart. */
  emitUnitRemoved(name: string): void {
    this.manager.UnitRemoved(name, systemdUnitObjectPath(name));
  }

  stop(): void {
    this.bus.disconnect();
  }
}
