/**
 * The copy and bind-mount handlers shared by the Machine object and Manager's by-name methods, in
 * upstream's order of checks: operation limit, machine class, flags, paths, authorization
 * (manage-machines with machine, verb, src, dest), then the work in a helper process. At most 64
 * copies and bind mounts run at once (OPERATIONS_MAX); the next is refused with LimitsExceeded.
 */
import { Errors, Machine1Actions, type Authorizer, type CallContext } from '@machined/protocol';
import { OperationSlots } from '../images/operation-slots.js';
import type { Machine } from '../registry/machine.js';
import { bindMountIntoMachine, checkBindMachine } from './bind-mount.js';
import { checkCopyMachine, copyWithMachine, parseCopyFlags } from './copy.js';
import { checkBindPaths, checkCopyPaths } from './paths.js';

export interface CopyBindDeps {
  authorizer: Authorizer;
  libexecDir: string;
  slots?: OperationSlots;
}

export function copyBindHandlers({ authorizer, libexecDir, slots = new OperationSlots() }: CopyBindDeps) {
  const checkSlot = () => {
    try {
      slots.check();
    } catch {
      throw Errors.tooManyCopies();
    }
  };
  const authorize = (ctx: CallContext, m: Machine, verb: string, src: string, dest: string) =>
    authorizer.authorize(ctx, Machine1Actions.manageMachines, { machine: m.name, verb, src, dest }, { ownerUid: m.uid });

  return {
    async Copy(ctx: CallContext, m: Machine, direction: 'to' | 'from', source: string, destination: string, flags: bigint): Promise<unknown[]> {
      checkSlot();
      checkCopyMachine(m);
      const replace = parseCopyFlags(flags);
      const paths = checkCopyPaths(direction, source, destination);
      await authorize(ctx, m, 'copy', paths.source, paths.destination);
      checkSlot();
      await slots.run(() => copyWithMachine(libexecDir, m, direction, paths, replace));
      return [];
    },
    async BindMount(ctx: CallContext, m: Machine, source: string, destination: string, readOnly: boolean, mkdir: boolean): Promise<unknown[]> {
      checkBindMachine(m);
      const paths = checkBindPaths(source, destination);
      await authorize(ctx, m, 'bind', paths.source, paths.destination);
      checkSlot();
      await slots.run(() => bindMountIntoMachine(libexecDir, m, paths.source, paths.destination, readOnly, mkdir));
      return [];
    },
  };
}
