/**
 * A machine's unit as systemd1 shows it: org.freedesktop.systemd1.Unit plus the Scope or Service
 * interface, with the properties clients read (`machinectl status` reads ControlGroup).
 */
import type { Accounting, ScopeBackend } from '@machined/cgroup';
import {
  SYSTEMD1_SCOPE,
  SYSTEMD1_SERVICE,
  SYSTEMD1_UNIT,
  UINT64_MAX,
  type CallContext,
  type ServedInterface,
  type ServedObject,
} from '@machined/protocol';
import type { Machine } from '../registry/machine.js';
import { scopeDescription } from '../registry/machine-request.js';
import { readLimit } from './unit-limits.js';

export interface UnitHandlers {
  kill(ctx: CallContext, m: Machine, whom: string, signal: number): Promise<unknown[]>;
  stop(ctx: CallContext, m: Machine, mode: string): Promise<unknown[]>;
  setProperties(ctx: CallContext, m: Machine, runtime: boolean, properties: Array<[string, { signature: string; value: unknown }]>): Promise<unknown[]>;
}

function scopeProperty(m: Machine, key: string): unknown {
  return m.scopeProperties.find(([k]) => k === key)?.[2];
}

function sliceOf(cgroupPath: string): string {
  const parent = cgroupPath.split('/').filter(Boolean).slice(-2, -1)[0];
  return parent?.endsWith('.slice') ? parent : '-.slice';
}

export function unitObject(m: Machine, backend: ScopeBackend, handlers: UnitHandlers): ServedObject {
  const isScope = m.unit.endsWith('.scope');
  const description = (scopeProperty(m, 'Description') as string | undefined) ?? scopeDescription(m.name, m.class);
  const accounting = (): Promise<Accounting> => (m.location ? backend.accounting(m.location).catch(() => ({})) : Promise.resolve({}));
  const cgroupProperties: Record<string, () => unknown> = {
    Slice: () => (m.location ? sliceOf(m.location.cgroupPath) : '-.slice'),
    ControlGroup: () => m.location?.cgroupPath ?? '',
    MemoryCurrent: async () => (await accounting()).memoryCurrent ?? UINT64_MAX,
    CPUUsageNSec: async () => (await accounting()).cpuUsageNsec ?? UINT64_MAX,
    TasksCurrent: async () => (await accounting()).tasksCurrent ?? UINT64_MAX,
    TasksMax: () => readLimit(backend, m.location, 'TasksMax'),
    MemoryMax: () => readLimit(backend, m.location, 'MemoryMax'),
    CPUWeight: () => readLimit(backend, m.location, 'CPUWeight'),
    KillMode: () => (scopeProperty(m, 'KillMode') as string | undefined) ?? (isScope ? 'control-group' : 'mixed'),
    KillSignal: () => (scopeProperty(m, 'KillSignal') as number | undefined) ?? 15,
    Result: () => 'success',
  };
  const unit: ServedInterface = {
    spec: SYSTEMD1_UNIT,
    methods: {
      Kill: (ctx, whom: string, signal: number) => handlers.kill(ctx, m, whom, signal),
      Stop: (ctx, mode: string) => handlers.stop(ctx, m, mode),
      SetProperties: (ctx, runtime: boolean, props) => handlers.setProperties(ctx, m, runtime, props),
    },
    properties: {
      Id: () => m.unit,
      Names: () => [m.unit],
      Description: () => description,
      LoadState: () => 'loaded',
      ActiveState: () => (m.state === 'closing' ? 'deactivating' : 'active'),
      SubState: () => (m.state === 'closing' ? 'stop-sigterm' : 'running'),
      FragmentPath: () => '',
    },
  };
  const typed: ServedInterface = isScope
    ? {
        spec: SYSTEMD1_SCOPE,
        methods: {},
        properties: { Controller: () => (scopeProperty(m, 'Controller') as string | undefined) ?? '', ...cgroupProperties },
      }
    : { spec: SYSTEMD1_SERVICE, methods: {}, properties: { MainPID: () => 0, ...cgroupProperties } };
  return { interfaces: [unit, typed] };
}
