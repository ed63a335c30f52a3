/**
 * `machinectl list`: ListMachines, then every machine's OS release (ID, VERSION_ID) and addresses.
 * Upstream asks machine after machine; we send all those calls at once and wait for them
 * together, which is where most of the time at 100 machines goes.
 */
import { machineManager } from '../bus/calls.js';
import { isJsonOutput, MAX_ADDRESSES_ALL } from '../cli/options.js';
import { formatJson, type JsonStyle } from '../format/json.js';
import { Table, str } from '../format/table.js';
import type { Context } from './context.js';
import { couldNot } from './errors.js';
import { machineAddresses, osReleaseFields } from './machine-info.js';

export async function listMachines(ctx: Context): Promise<number> {
  ctx.usePager();
  const bus = await ctx.bus();
  let machines: Array<[string, string, string, string]>;
  try {
    [machines] = (await bus.call(machineManager('ListMachines'))) as [Array<[string, string, string, string]>];
  } catch (e) {
    return couldNot(ctx, 'Could not get machines', e);
  }
  const { all, maxAddresses, full } = ctx.options;
  const shown = machines.filter(([name]) => all || !name.startsWith('.'));
  const details = await bus.batch(() => Promise.all(
    shown.map(async ([name]) => {
      const [os, addresses] = await Promise.all([
        osReleaseFields(bus, 'GetMachineOSRelease', name),
        maxAddresses > 0 ? machineAddresses(bus, name, 0, '', '\n') : Promise.resolve(undefined),
      ]);
      return { os, addresses };
    }),
  ));
  const columns = ['machine', 'class', 'service', 'os', 'version'];
  if (maxAddresses > 0) columns.push('addresses');
  const table = new Table({
    columns,
    ersatz: '-',
    cellHeightMax: !full && maxAddresses > 0 && maxAddresses < MAX_ADDRESSES_ALL ? maxAddresses : undefined,
    full,
  });
  shown.forEach(([name, cls, service], i) => {
    const { os, addresses } = details[i]!;
    const row = [str(name), str(cls), str(service), str(os?.ID), str(os?.VERSION_ID)];
    if (maxAddresses > 0) row.push(str(addresses?.text));
    table.add(row);
  });
  showTable(ctx, table, 'machines');
  return 0;
}

/** Upstream's show_table(): the table (or JSON), then "N machines listed." or "No machines.". */
export function showTable(ctx: Context, table: Table, word: string): void {
  const json = isJsonOutput(ctx.options.output);
  if (table.rowCount > 0 || json) {
    table.header = ctx.options.legend;
    ctx.print(json ? formatJson(table.toJson(), ctx.options.output as JsonStyle) : table.render(ctx.term));
  }
  if (ctx.options.legend) {
    ctx.print(table.rowCount > 0 ? `\n${table.rowCount} ${word} listed.\n` : `No ${word}.\n`);
  }
}
