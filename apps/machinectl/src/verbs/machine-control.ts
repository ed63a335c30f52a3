/**
 * Verbs that act on running machines: terminate (TerminateMachine), poweroff/stop (KillMachine
 * leader SIGRTMIN+4), reboot (KillMachine leader SIGINT), kill (KillMachine with --kill-whom,
 * default "all", and --signal, default SIGTERM), bind (BindMountMachine), copy-to / copy-from
 * (CopyTo/FromMachine[WithFlags]). One call per name, stopping at the first failure, as upstream.
 */
import { resolve } from 'node:path';
import { machineManager } from '../bus/calls.js';
import { SIGINT, SIGRTMIN } from '../cli/signals.js';
import type { Context } from './context.js';
import { couldNot } from './errors.js';

export async function terminateMachines(ctx: Context): Promise<number> {
  const bus = await ctx.bus();
  for (const name of ctx.args) {
    try {
      await bus.call(machineManager('TerminateMachine', 's', [name]));
    } catch (e) {
      return couldNot(ctx, 'Could not terminate machine', e);
    }
  }
  return 0;
}

async function killMachines(ctx: Context, whom: string, signal: number): Promise<number> {
  const bus = await ctx.bus();
  for (const name of ctx.args) {
    try {
      await bus.call(machineManager('KillMachine', 'ssi', [name, whom, signal]));
    } catch (e) {
      return couldNot(ctx, 'Could not kill machine', e);
    }
  }
  return 0;
}

export const killVerb = (ctx: Context) => killMachines(ctx, ctx.options.killWhom ?? 'all', ctx.options.signal);
/** SIGINT is what both sysvinit and systemd take as "reboot". */
export const rebootVerb = (ctx: Context) => killMachines(ctx, 'leader', SIGINT);
/** SIGRTMIN+4 is systemd's "power off"; other inits ignore it. */
export const poweroffVerb = (ctx: Context) => killMachines(ctx, 'leader', SIGRTMIN + 4);

export async function bindMount(ctx: Context): Promise<number> {
  const bus = await ctx.bus();
  const [name, source, dest] = ctx.args as [string, string, string | undefined];
  try {
    await bus.call(machineManager('BindMountMachine', 'sssbb', [name, source, dest ?? '', ctx.options.readOnly, ctx.options.mkdir]));
  } catch (e) {
    return couldNot(ctx, 'Failed to bind mount', e);
  }
  return 0;
}

/** MACHINE_COPY_REPLACE: --force lets the copy replace an existing destination. */
const MACHINE_COPY_REPLACE = 1n;

export async function copyFiles(ctx: Context): Promise<number> {
  const bus = await ctx.bus();
  const copyFrom = ctx.verb === 'copy-from';
  const [name, first, second] = ctx.args as [string, string, string | undefined];
  const dest = second ?? first;
  // The host side is resolved against our working directory; the machine side is sent as given.
  let hostPath = copyFrom ? dest : first;
  const containerPath = copyFrom ? first : dest;
  if (!hostPath.startsWith('/')) hostPath = resolve(process.cwd(), hostPath);
  const member = ctx.options.force ? (copyFrom ? 'CopyFromMachineWithFlags' : 'CopyToMachineWithFlags') : copyFrom ? 'CopyFromMachine' : 'CopyToMachine';
  const body: unknown[] = [name, copyFrom ? containerPath : hostPath, copyFrom ? hostPath : containerPath];
  if (ctx.options.force) body.push(MACHINE_COPY_REPLACE);
  try {
    await bus.call(machineManager(member, ctx.options.force ? 'ssst' : 'sss', body, false));
  } catch (e) {
    return couldNot(ctx, 'Failed to copy', e);
  }
  return 0;
}
