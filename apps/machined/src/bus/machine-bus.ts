/**
 * The org.freedesktop.machine1.Machine interface of one machine object. Handlers only translate
 * between the bus and the Registry; Manager's by-name methods call these same handlers.
 */
import {
  Errors,
  MACHINE_INTERFACE,
  Machine1Actions,
  parseKillWhom,
  signalIsValid,
  type Authorizer,
  type CallContext,
  type ServedInterface,
} from '@machined/protocol';
import type { Machine } from '../registry/machine.js';
import type { Registry } from '../registry/registry.js';
import { machineAddresses } from '../machine-info/addresses.js';
import { machineOsRelease } from '../machine-info/os-release.js';
import { machineUidShift } from '../machine-info/uid-shift.js';
import { openMachineRootDirectory } from '../machine-info/root-directory.js';
import { copyBindHandlers } from '../machine-ops/copy-bind-handlers.js';
import { ptyHandlers } from '../machine-ops/pty-handlers.js';
import { defaultLibexecDir } from '../config.js';

export interface MachineBusDeps {
  registry: Registry;
  authorizer: Authorizer;
  /** Where machined's C helpers are (Config.libexecDir); the bundle's dist/libexec when absent. */
  libexecDir?: string;
}

/** Handlers taking the machine first; the Machine object and Manager's by-name methods share them. */
export function machineHandlers({ registry, authorizer, libexecDir = defaultLibexecDir() }: MachineBusDeps) {
  const manage = (ctx: CallContext, m: Machine, verb: string) =>
    authorizer.authorize(ctx, Machine1Actions.manageMachines, { machine: m.name, verb }, { ownerUid: m.uid });

  return {
    ...copyBindHandlers({ authorizer, libexecDir }),
    ...ptyHandlers({ authorizer, libexecDir }),
    async Terminate(ctx: CallContext, m: Machine): Promise<unknown[]> {
      await manage(ctx, m, 'terminate');
      await registry.terminate(m);
      return [];
    },
    async GetOSRelease(_ctx: CallContext, m: Machine): Promise<unknown[]> {
      return [await machineOsRelease(m)];
    },
    async GetAddresses(_ctx: CallContext, m: Machine): Promise<unknown[]> {
      return [await machineAddresses(m)];
    },
    async GetUIDShift(_ctx: CallContext, m: Machine): Promise<unknown[]> {
      return [machineUidShift(m)];
    },
    async OpenRootDirectory(ctx: CallContext, m: Machine): Promise<unknown[]> {
      await manage(ctx, m, 'open_root_directory');
      return [openMachineRootDirectory(m)];
    },
    async Kill(ctx: CallContext, m: Machine, whom: string, signal: number): Promise<unknown[]> {
      const target = parseKillWhom(whom);
      if (target === null) throw Errors.invalidKillWhom(whom);
      if (!signalIsValid(signal)) throw Errors.invalidSignal(signal);
      await manage(ctx, m, 'kill');
      await registry.kill(m, target, signal);
      return [];
    },
  };
}

export type MachineHandlers = ReturnType<typeof machineHandlers>;

export function machineInterface(m: Machine, handlers: MachineHandlers): ServedInterface {
  return {
    spec: MACHINE_INTERFACE,
    methods: {
      Terminate: (ctx) => handlers.Terminate(ctx, m),
      Kill: (ctx, whom: string, signal: number) => handlers.Kill(ctx, m, whom, signal),
      GetOSRelease: (ctx) => handlers.GetOSRelease(ctx, m),
      GetAddresses: (ctx) => handlers.GetAddresses(ctx, m),
      GetUIDShift: (ctx) => handlers.GetUIDShift(ctx, m),
      OpenRootDirectory: (ctx) => handlers.OpenRootDirectory(ctx, m),
      CopyTo: (ctx, src: string, dest: string) => handlers.Copy(ctx, m, 'to', src, dest, 0n),
      CopyFrom: (ctx, src: string, dest: string) => handlers.Copy(ctx, m, 'from', src, dest, 0n),
      CopyToWithFlags: (ctx, src: string, dest: string, flags: bigint) => handlers.Copy(ctx, m, 'to', src, dest, flags),
      CopyFromWithFlags: (ctx, src: string, dest: string, flags: bigint) => handlers.Copy(ctx, m, 'from', src, dest, flags),
      BindMount: (ctx, src: string, dest: string, ro: boolean, mk: boolean) => handlers.BindMount(ctx, m, src, dest, ro, mk),
      OpenPTY: (ctx) => handlers.OpenPTY(ctx, m),
      OpenLogin: (ctx) => handlers.OpenLogin(ctx, m),
      OpenShell: (ctx, user: string, path: string, args: string[], env: string[]) => handlers.OpenShell(ctx, m, user, path, args, env),
    },
    properties: {
      Name: () => m.name,
      Id: () => (m.id.length === 16 ? m.id : Buffer.alloc(0)),
      Timestamp: () => m.timestamp.realtime,
      TimestampMonotonic: () => m.timestamp.monotonic,
      Service: () => m.service,
      Unit: () => m.unit,
      Leader: () => m.leader,
      Class: () => m.class,
      RootDirectory: () => m.rootDirectory,
      NetworkInterfaces: () => m.networkInterfaces,
      State: () => m.state,
    },
  };
}
