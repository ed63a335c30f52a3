/**
 * The object tree of org.freedesktop.machine1: the Manager, one object per machine (resolved per
 * call, as upstream's fallback handler does), and `machine/self` meaning the caller's machine.
 */
import {
  ancestorChildren,
  MACHINE1_IMAGE_PATH_PREFIX,
  MACHINE1_MACHINE_PATH_PREFIX,
  MACHINE1_PATH,
  busLabelEscape,
  busLabelUnescape,
  machineNameFromObjectPath,
  type CallContext,
  type ObjectTree,
  type ServedInterface,
  type ServedObject,
} from '@machined/protocol';
import type { Registry } from '../registry/registry.js';
import type { ImagePool } from '../images/pool.js';
import { imageInterface, type ImageHandlers } from './image-bus.js';
import { machineInterface, type MachineHandlers } from './machine-bus.js';

const SELF_PATH = `${MACHINE1_MACHINE_PATH_PREFIX}/self`;
const IMAGE_PREFIX = `${MACHINE1_IMAGE_PATH_PREFIX}/`;

export class MachineTree implements ObjectTree {
  constructor(
    private readonly registry: Registry,
    private readonly manager: ServedInterface,
    private readonly handlers: MachineHandlers,
    private readonly pool: ImagePool,
    private readonly imageHandlers: ImageHandlers,
  ) {}

  async resolve(path: string, ctx: CallContext): Promise<ServedObject | null> {
    if (path === MACHINE1_PATH) return { interfaces: [this.manager] };
    if (path.startsWith(IMAGE_PREFIX)) {
      const label = path.slice(IMAGE_PREFIX.length);
      const name = label === '' || label.includes('/') ? null : busLabelUnescape(label);
      const image = name === null ? undefined : await this.pool.find(name);
      return image ? { interfaces: [imageInterface(image, this.imageHandlers)] } : null;
    }
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
    if (path === MACHINE1_IMAGE_PATH_PREFIX) return this.pool.cached().map((i) => busLabelEscape(i.name));
    if (path === MACHINE1_PATH) return ['machine', 'image'];
    // Ancestors of our root, so that `busctl tree` finds its way down from `/`.
    return ancestorChildren(MACHINE1_PATH, path);
  }
}
