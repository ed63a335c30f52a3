/**
 * list-transfers (ListTransfers on org.freedesktop.import1, printed as 252 prints it, trailing
 * blanks included) and cancel-transfer (CancelTransfer per id).
 */
import { importManager } from '../bus/calls.js';
import { CliError } from '../cli/cli-error.js';
import { parseUnsigned } from '../cli/parse-values.js';
import type { Context } from './context.js';
import { couldNot } from './errors.js';

export async function listTransfers(ctx: Context): Promise<number> {
  ctx.usePager();
  const bus = await ctx.bus();
  let list: Array<[number, string, string, string, number, string]>;
  try {
    [list] = (await bus.call(importManager('ListTransfers'))) as [typeof list];
  } catch (e) {
    return couldNot(ctx, 'Could not get transfers', e);
  }
  const rows = (list ?? []).map(([id, type, remote, local, progress]) => ({ id, type, remote, local, progress }));
  rows.sort((a, b) => Buffer.compare(Buffer.from(a.local), Buffer.from(b.local)) || a.id - b.id);
  const maxId = Math.max(0, ...rows.map((r) => r.id));
  const idWidth = Math.max(2, String(maxId).length);
  const wType = Math.max(4, ...rows.map((r) => r.type.length));
  const wLocal = Math.max(5, ...rows.map((r) => r.local.length));
  const wRemote = Math.max(6, ...rows.map((r) => r.remote.length));
  let out = '';
  if (ctx.options.legend && rows.length > 0) {
    out += `${'ID'.padEnd(idWidth)} ${'PERCENT'.padEnd(7)} ${'TYPE'.padEnd(wType)} ${'LOCAL'.padEnd(wLocal)} ${'REMOTE'.padEnd(wRemote)}\n`;
  }
  for (const r of rows) {
    const pct = r.progress < 0 ? 'n/a'.padStart(7) : `${String(Math.floor(r.progress * 100)).padStart(6)}%`;
    out += `${String(r.id).padStart(idWidth)} ${pct} ${r.type.padEnd(wType)} ${r.local.padEnd(wLocal)} ${r.remote.padEnd(wRemote)}\n`;
  }
  if (ctx.options.legend) out += rows.length > 0 ? `\n${rows.length} transfers listed.\n` : 'No transfers.\n';
  ctx.print(out);
  return 0;
}

export async function cancelTransfers(ctx: Context): Promise<number> {
  const bus = await ctx.bus();
  for (const a of ctx.args) {
    const id = parseUnsigned(a);
    if (id === undefined) throw new CliError(`Failed to parse transfer id: ${a}`);
    try {
      await bus.call(importManager('CancelTransfer', 'u', [id]));
    } catch (e) {
      return couldNot(ctx, 'Could not cancel transfer', e);
    }
  }
  return 0;
}
