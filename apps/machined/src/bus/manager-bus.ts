/**
 * org.freedesktop.machine1.Manager at /org/freedesktop/machine1. By-name methods look the machine
 * up and hand over to the Machine object's own handler, so each behaviour exists once.
 */
import dbus from 'dbus-next';
import {
  Errors,
  MANAGER_INTERFACE,
  Machine1Actions,
  imageNameIsValid,
  imageObjectPath,
  type Authorizer,
  marshalBody,
  type MarshalledBody,
  type CallContext,
  type ServedInterface,
} from '@machined/protocol';
import { validateMachineRequest, type RawMachineRequest } from '../registry/machine-request.js';
import type { Registry } from '../registry/registry.js';
import type { Image } from '../images/image.js';
import type { ImagePool } from '../images/pool.js';
import { limitIsValid, type ImageHandlers } from './image-bus.js';
import type { MachineHandlers } from './machine-bus.js';
import { mapFromMachine, mapToMachine } from '../machine-info/user-mapping.js';

export interface ManagerBusDeps {
  registry: Registry;
  authorizer: Authorizer;
  handlers: MachineHandlers;
  pool: ImagePool;
  imageHandlers: ImageHandlers;
}

type ScopeProperty = [string, InstanceType<typeof dbus.Variant>];

function rawRequest(
  name: string,
  id: Buffer,
  service: string,
  cls: string,
  leader: number,
  rootDirectory: string,
  networkInterfaces: number[],
  scopeProperties: ScopeProperty[],
): RawMachineRequest {
  return {
    name,
    id,
    service,
    class: cls,
    leader,
    rootDirectory,
    networkInterfaces,
    scopeProperties: scopeProperties.map(([key, v]) => [key, v.signature, v.value]),
  };
}

export function managerInterface({ registry, authorizer, handlers, pool, imageHandlers: images }: ManagerBusDeps): ServedInterface {
  async function createOrRegister(ctx: CallContext, raw: RawMachineRequest, mode: 'create' | 'register'): Promise<unknown[]> {
    const req = validateMachineRequest(raw);
    const action = mode === 'create' ? Machine1Actions.createMachine : Machine1Actions.registerMachine;
    await authorizer.authorize(ctx, action, { name: req.name, class: req.class });
    const caller = await ctx.caller();
    if (req.leader === 0) req.leader = caller.pid;
    const m = mode === 'create' ? await registry.create(req, caller) : await registry.register(req, caller);
    return [m.path];
  }

  // ListMachines is read far more often than machines come and go: its reply is marshalled once
  // per change of the list.
  let listReply: MarshalledBody | null = null;
  const invalidate = () => {
    listReply = null;
  };
  registry.on('added', invalidate);
  registry.on('removed', invalidate);

  /** By-name image methods: upstream checks the name first, then looks the image up. */
  async function image(name: string): Promise<Image> {
    if (!imageNameIsValid(name)) throw Errors.invalidImageName(name);
    return pool.get(name);
  }

  return {
    spec: MANAGER_INTERFACE,
    methods: {
      GetMachine: (_ctx, name: string) => [registry.get(name).path],
      async GetMachineByPID(ctx, pid: number) {
        const target = pid === 0 ? (await ctx.caller()).pid : pid;
        return [(await registry.getByPid(target)).path];
      },
      ListMachines: () => (listReply ??= marshalBody('a(ssso)', [registry.list().map((m) => [m.name, m.class, m.service, m.path])])),
      CreateMachine: (ctx, name, id, service, cls, leader, root, props: ScopeProperty[]) =>
        createOrRegister(ctx, rawRequest(name, id, service, cls, leader, root, [], props), 'create'),
      CreateMachineWithNetwork: (ctx, name, id, service, cls, leader, root, ifindices: number[], props: ScopeProperty[]) =>
        createOrRegister(ctx, rawRequest(name, id, service, cls, leader, root, ifindices, props), 'create'),
      RegisterMachine: (ctx, name, id, service, cls, leader, root) =>
        createOrRegister(ctx, rawRequest(name, id, service, cls, leader, root, [], []), 'register'),
      RegisterMachineWithNetwork: (ctx, name, id, service, cls, leader, root, ifindices: number[]) =>
        createOrRegister(ctx, rawRequest(name, id, service, cls, leader, root, ifindices, []), 'register'),
      async UnregisterMachine(ctx, name: string) {
        const m = registry.get(name);
        await authorizer.authorize(ctx, Machine1Actions.manageMachines, { machine: m.name, verb: 'unregister' }, { ownerUid: m.uid });
        await registry.unregister(m);
        return [];
      },
      TerminateMachine: (ctx, name: string) => handlers.Terminate(ctx, registry.get(name)),
      KillMachine: (ctx, name: string, whom: string, signal: number) => handlers.Kill(ctx, registry.get(name), whom, signal),
      GetMachineOSRelease: (ctx, name: string) => handlers.GetOSRelease(ctx, registry.get(name)),
      GetMachineAddresses: (ctx, name: string) => handlers.GetAddresses(ctx, registry.get(name)),
      GetMachineUIDShift: (ctx, name: string) => handlers.GetUIDShift(ctx, registry.get(name)),
      OpenMachineRootDirectory: (ctx, name: string) => handlers.OpenRootDirectory(ctx, registry.get(name)),
      CopyToMachine: (ctx, name: string, src: string, dest: string) => handlers.Copy(ctx, registry.get(name), 'to', src, dest, 0n),
      CopyFromMachine: (ctx, name: string, src: string, dest: string) => handlers.Copy(ctx, registry.get(name), 'from', src, dest, 0n),
      CopyToMachineWithFlags: (ctx, name: string, src: string, dest: string, flags: bigint) =>
        handlers.Copy(ctx, registry.get(name), 'to', src, dest, flags),
      CopyFromMachineWithFlags: (ctx, name: string, src: string, dest: string, flags: bigint) =>
        handlers.Copy(ctx, registry.get(name), 'from', src, dest, flags),
      BindMountMachine: (ctx, name: string, src: string, dest: string, ro: boolean, mk: boolean) =>
        handlers.BindMount(ctx, registry.get(name), src, dest, ro, mk),
      OpenMachinePTY: (ctx, name: string) => handlers.OpenPTY(ctx, registry.get(name)),
      OpenMachineLogin: (ctx, name: string) => handlers.OpenLogin(ctx, registry.get(name)),
      OpenMachineShell: (ctx, name: string, user: string, path: string, args: string[], env: string[]) =>
        handlers.OpenShell(ctx, registry.get(name), user, path, args, env),
      MapFromMachineUser: (_ctx, name: string, uid: number) => [mapFromMachine(registry.get(name), 'uid', uid)],
      MapFromMachineGroup: (_ctx, name: string, gid: number) => [mapFromMachine(registry.get(name), 'gid', gid)],
      MapToMachineUser: (_ctx, uid: number) => {
        const [m, inner] = mapToMachine(registry.list(), 'uid', uid);
        return [m.name, m.path, inner];
      },
      MapToMachineGroup: (_ctx, gid: number) => {
        const [m, inner] = mapToMachine(registry.list(), 'gid', gid);
        return [m.name, m.path, inner];
      },
      async GetImage(_ctx, name: string) {
        return [imageObjectPath((await pool.get(name)).name)];
      },
      async ListImages() {
        const rows = [...(await pool.snapshot()).values()].map((i) => [
          i.name,
          i.type,
          i.readOnly,
          i.crtime,
          i.mtime,
          i.usage,
          imageObjectPath(i.name),
        ]);
        return [rows];
      },
      RemoveImage: async (ctx, name: string) => images.Remove(ctx, await image(name)),
      RenameImage: async (ctx, name: string, newName: string) => images.Rename(ctx, await image(name), newName),
      CloneImage: async (ctx, name: string, newName: string, ro: boolean) => images.Clone(ctx, await image(name), newName, ro),
      MarkImageReadOnly: async (ctx, name: string, ro: boolean) => images.MarkReadOnly(ctx, await image(name), ro),
      SetImageLimit: async (ctx, name: string, limit: bigint) => images.SetLimit(ctx, await image(name), limit),
      GetImageHostname: async (ctx, name: string) => images.GetHostname(ctx, await image(name)),
      GetImageMachineID: async (ctx, name: string) => images.GetMachineID(ctx, await image(name)),
      GetImageMachineInfo: async (ctx, name: string) => images.GetMachineInfo(ctx, await image(name)),
      GetImageOSRelease: async (ctx, name: string) => images.GetOSRelease(ctx, await image(name)),
      async SetPoolLimit(ctx, limit: bigint) {
        if (!limitIsValid(limit)) throw Errors.limitOutOfRange();
        await authorizer.authorize(ctx, Machine1Actions.manageMachines, { verb: 'set_pool_limit' });
        return pool.setPoolLimit(limit);
      },
      async CleanPool(ctx, mode: string) {
        if (mode !== 'hidden' && mode !== 'all') throw Errors.unknownCleanMode(mode);
        pool.checkOperationSlot();
        await authorizer.authorize(ctx, Machine1Actions.manageMachines, { verb: 'clean_pool', mode });
        return [await pool.clean(mode)];
      },
    },
    properties: {
      PoolPath: () => pool.poolPath,
      PoolUsage: () => pool.poolUsage,
      PoolLimit: () => pool.poolLimit,
    },
  };
}
