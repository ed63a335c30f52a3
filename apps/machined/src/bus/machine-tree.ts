/**
 * The object tree of org.freedesktop.machine1: the Manager, one object per machine (resolved per
 * call, as upstream's fallback handler does), and `machine/self` meaning the caller's machine.
 */
import {
  MACHINE1_MACHINE_PATH_PREFIX,
  MACHINE1_PATH,
  busLabelEscape,
  machineNameFromObjectPath,
  type CallContext,
  type ObjectTree,
  type ServedInterface,
  type ServedObject,
} from '@machined/protocol';
import type { Registry } from '../registry/registry.js';
import { machineInterface, type MachineHandlers } from './machine-bus.js';

const SELF_PATH = `${MACHINE1_MACHINE_PATH_PREFIX}/self`;

export class MachineTree implements ObjectTree {
  constructor(
    private readonly registry: Registry,
    private readonly manager: ServedInterface,
    private readonly handlers: MachineHandlers,
  ) {}

  async resolve(path: string, ctx: CallContext): Promise<ServedObject | null> {
    if (path === MACHINE1_PATH) return { interfaces: [this.manager] };
    let machine;
    if (path === SELF_PATH) {
      machine = await this.registry.findByPid((await ctx.caller()).pid);
    } else {
      const name = machineNameFromObjectPath(path);
      machine = name === null ? undefined : this.registry.find(name);
    }
    return machine ? { interfaces: [machineInterface(machine, this.handlers)] } : null;
  }

  children(path: string): string[] {
    if (path === MACHINE1_MACHINE_PATH_PREFIX) return this.registry.list().map((m) => busLabelEscape(m.name));
    if (path === MACHINE1_PATH) return ['machine'];
    // Ancestors of our root, so that `busctl tree` finds its way down from `/`.
    const below = MACHINE1_PATH.split('/').filter(Boolean);
    const at = path === '/' ? [] : path.split('/').filter(Boolean);
    if (at.length < below.length && at.every((c, i) => below[i] === c)) return [below[at.length]!];
    return [];
  }
}
