/**
 * Verbs that change images: remove, rename, clone, read-only, set-limit, clean. The slow ones
 * (remove, clone, clean) wait without a time limit, as upstream does.
 */
import { machineManager } from '../bus/calls.js';
import { CliError } from '../cli/cli-error.js';
import { parseBoolean, parseSize } from '../cli/parse-values.js';
import { formatBytes } from '../format/bytes.js';
import type { Context } from './context.js';
import { couldNot } from './errors.js';

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

export async function removeImages(ctx: Context): Promise<number> {
  const bus = await ctx.bus();
  for (const name of ctx.args) {
    try {
      await bus.call(machineManager('RemoveImage', 's', [name], false));
    } catch (e) {
      return couldNot(ctx, 'Could not remove image', e);
    }
  }
  return 0;
}

export async function renameImage(ctx: Context): Promise<number> {
  const bus = await ctx.bus();
  try {
    await bus.call(machineManager('RenameImage', 'ss', [ctx.args[0], ctx.args[1]]));
  } catch (e) {
    return couldNot(ctx, 'Could not rename image', e);
  }
  return 0;
}

export async function cloneImage(ctx: Context): Promise<number> {
  const bus = await ctx.bus();
  try {
    await bus.call(machineManager('CloneImage', 'ssb', [ctx.args[0], ctx.args[1], ctx.options.readOnly], false));
  } catch (e) {
    return couldNot(ctx, 'Could not clone image', e);
  }
  return 0;
}

export async function readOnlyImage(ctx: Context): Promise<number> {
  let b = true;
  if (ctx.args.length > 1) {
    const v = parseBoolean(ctx.args[1]!);
    if (v === undefined) throw new CliError(`Failed to parse boolean argument: ${ctx.args[1]}`);
    b = v;
  }
  const bus = await ctx.bus();
  try {
    await bus.call(machineManager('MarkImageReadOnly', 'sb', [ctx.args[0], b]));
  } catch (e) {
    return couldNot(ctx, 'Could not mark image read-only', e);
  }
  return 0;
}

export async function setLimit(ctx: Context): Promise<number> {
  const last = ctx.args[ctx.args.length - 1]!;
  let limit: bigint;
  if (last === '-' || last === 'none' || last === 'infinity') limit = UINT64_MAX;
  else {
    const v = parseSize(last);
    if (v === undefined) throw new CliError(`Failed to parse size: ${last}`);
    limit = v;
  }
  const bus = await ctx.bus();
  try {
    if (ctx.args.length > 1) await bus.call(machineManager('SetImageLimit', 'st', [ctx.args[0], limit]));
    else await bus.call(machineManager('SetPoolLimit', 't', [limit]));
  } catch (e) {
    return couldNot(ctx, 'Could not set limit', e);
  }
  return 0;
}

export async function cleanImages(ctx: Context): Promise<number> {
  const bus = await ctx.bus();
  let removed: Array<[string, bigint]>;
  try {
    [removed] = (await bus.call(machineManager('CleanPool', 's', [ctx.options.all ? 'all' : 'hidden'], false))) as [typeof removed];
  } catch (e) {
    return couldNot(ctx, 'Could not clean pool', e);
  }
  let total = 0n;
  let unknown = false;
  for (const [name, usage] of removed ?? []) {
    const u = BigInt(usage);
    if (u === UINT64_MAX) {
      ctx.log(`Removed image '${name}'`, 'info');
      unknown = true;
    } else {
      ctx.log(`Removed image '${name}'. Freed exclusive disk space: ${formatBytes(u)}`, 'info');
      total += u;
    }
  }
  const n = (removed ?? []).length;
  ctx.log(unknown ? `Removed ${n} images in total.` : `Removed ${n} images in total. Total freed exclusive disk space: ${formatBytes(total)}.`, 'info');
  return 0;
}
