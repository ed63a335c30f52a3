/**
 * A unit as systemd1 shows it: org.freedesktop.systemd1.Unit plus the Scope or Service interface,
 * with the properties clients read (`machinectl status` reads ControlGroup). Units are machine
 * scopes, the units machines registered from, and `systemd-nspawn@NAME.service` units machined
 * started (activating until the machine registers).
 */
import type { Accounting, ScopeBackend, UnitLocation } from '@machined/cgroup';
import {
  SYSTEMD1_SCOPE,
  SYSTEMD1_SERVICE,
  SYSTEMD1_UNIT,
  UINT64_MAX,
  type CallContext,
  type ServedInterface,
  type ServedObject,
} from '@machined/protocol';
import type { StartedUnit } from '../launcher/machine-starter.js';
import type { Machine } from '../registry/machine.js';
import { scopeDescription } from '../registry/machine-request.js';
import { readLimit } from './unit-limits.js';

export type Variant = { signature: string; value: unknown };

export interface UnitHandlers {
  kill(ctx: CallContext, unit: string, whom: string, signal: number): Promise<unknown[]>;
  stop(ctx: CallContext, unit: string, mode: string): Promise<unknown[]>;
  setProperties(ctx: CallContext, unit: string, runtime: boolean, properties: Array<[string, Variant]>): Promise<unknown[]>;
}

/** What a unit object is drawn from. */
export interface UnitView {
  unit: string;
  description: string;
  location: UnitLocation | null;
  scopeProperties: Array<[string, string, unknown]>;
  activeState: 'activating' | 'active' | 'deactivating';
  mainPid: number;
}

const SUB_STATES = { activating: 'start', active: 'running', deactivating: 'stop-sigterm' } as const;

function scopeProperty(v: UnitView, key: string): unknown {
  return v.scopeProperties.find(([k]) => k === key)?.[2];
}

/** A machine's unit; `started` when machined launched it (then MainPID and the state come from there). */
export function machineUnitView(m: Machine, started?: StartedUnit): UnitView {
  return {
    unit: m.unit,
    description:
      (m.scopeProperties.find(([k]) => k === 'Description')?.[2] as string | undefined) ??
      (started ? `Container ${started.name}` : scopeDescription(m.name, m.class)),
    location: m.location,
    scopeProperties: m.scopeProperties,
    activeState: m.state === 'closing' || started?.state === 'deactivating' ? 'deactivating' : 'active',
    mainPid: started?.mainPid ?? 0,
  };
}

/** A started `systemd-nspawn@NAME.service` whose machine has not registered (or is gone). */
export function startedUnitView(s: StartedUnit): UnitView {
  return { unit: s.unit, description: `Container ${s.name}`, location: s.location, scopeProperties: [], activeState: s.state, mainPid: s.mainPid };
}

function sliceOf(cgroupPath: string): string {
  const parent = cgroupPath.split('/').filter(Boolean).slice(-2, -1)[0];
  return parent?.endsWith('.slice') ? parent : '-.slice';
}

export function unitObject(v: UnitView, backend: ScopeBackend, handlers: UnitHandlers): ServedObject {
  const isScope = v.unit.endsWith('.scope');
  const accounting = (): Promise<Accounting> => (v.location ? backend.accounting(v.location).catch(() => ({})) : Promise.resolve({}));
  const cgroupProperties: Record<string, () => unknown> = {
    Slice: () => (v.location ? sliceOf(v.location.cgroupPath) : '-.slice'),
    ControlGroup: () => v.location?.cgroupPath ?? '',
    MemoryCurrent: async () => (await accounting()).memoryCurrent ?? UINT64_MAX,
    CPUUsageNSec: async () => (await accounting()).cpuUsageNsec ?? UINT64_MAX,
    TasksCurrent: async () => (await accounting()).tasksCurrent ?? UINT64_MAX,
    TasksMax: () => readLimit(backend, v.location, 'TasksMax'),
    MemoryMax: () => readLimit(backend, v.location, 'MemoryMax'),
    CPUWeight: () => readLimit(backend, v.location, 'CPUWeight'),
    KillMode: () => (scopeProperty(v, 'KillMode') as string | undefined) ?? (isScope ? 'control-group' : 'mixed'),
    KillSignal: () => (scopeProperty(v, 'KillSignal') as number | undefined) ?? 15,
    Result: () => 'success',
  };
  const unit: ServedInterface = {
    spec: SYSTEMD1_UNIT,
    methods: {
      Kill: (ctx, whom: string, signal: number) => handlers.kill(ctx, v.unit, whom, signal),
      Stop: (ctx, mode: string) => handlers.stop(ctx, v.unit, mode),
      SetProperties: (ctx, runtime: boolean, props) => handlers.setProperties(ctx, v.unit, runtime, props),
    },
    properties: {
      Id: () => v.unit,
      Names: () => [v.unit],
      Description: () => v.description,
      LoadState: () => 'loaded',
      ActiveState: () => v.activeState,
      SubState: () => SUB_STATES[v.activeState],
      FragmentPath: () => '',
    },
  };
  const typed: ServedInterface = isScope
    ? {
        spec: SYSTEMD1_SCOPE,
        methods: {},
        properties: { Controller: () => (scopeProperty(v, 'Controller') as string | undefined) ?? '', ...cgroupProperties },
      }
    : { spec: SYSTEMD1_SERVICE, methods: {}, properties: { MainPID: () => v.mainPid, ...cgroupProperties } };
  return { interfaces: [unit, typed] };
}
