/**
 * `show [NAME…]` and `show-image [NAME…]`: Key=Value of every property (Properties.GetAll with the
 * empty interface, as sd-bus sends it); without a name, the manager's own properties.
 * `-o json` (ours, not upstream's) prints the same properties as JSON.
 */
import { MACHINE1_BUS_NAME, MACHINE1_PATH } from '../bus/names.js';
import { getAllProperties, machineManager } from '../bus/calls.js';
import { isJsonOutput } from '../cli/options.js';
import { formatJson, type JsonStyle, type JsonValue } from '../format/json.js';
import { printProperties, propertiesToJson, type PropertyValue } from '../format/properties.js';
import { toCallError, type BusClient } from '../bus/bus-client.js';
import type { Context } from './context.js';
import { couldNot } from './errors.js';

export async function showMachineOrImage(ctx: Context, kind: 'machine' | 'image'): Promise<number> {
  ctx.usePager();
  const bus = await ctx.bus();
  const json = isJsonOutput(ctx.options.output);
  const objects: JsonValue[] = [];
  let newLine = false;
  const emit = async (path: string): Promise<number> => {
    let props: Record<string, PropertyValue>;
    if (!json && newLine) ctx.print('\n');
    newLine = true;
    try {
      props = await getAll(bus, path);
    } catch (e) {
      // bus_print_all_properties() fails with an errno, printed with %m.
      ctx.log(`Could not get properties: ${errnoText(e)}`);
      return 1;
    }
    if (json) objects.push(propertiesToJson(props, ctx.options.properties));
    else ctx.print(printProperties(props, { filter: ctx.options.properties, showEmpty: ctx.options.showEmpty, valueOnly: ctx.options.valueOnly }));
    return 0;
  };
  let rc = 0;
  if (ctx.args.length === 0) rc = await emit(MACHINE1_PATH);
  for (const name of ctx.args) {
    let path: string;
    try {
      [path] = (await bus.call(machineManager(kind === 'machine' ? 'GetMachine' : 'GetImage', 's', [name]))) as [string];
    } catch (e) {
      flushJson(ctx, objects, json);
      return couldNot(ctx, `Could not get path to ${kind}`, e);
    }
    rc = await emit(path);
  }
  flushJson(ctx, objects, json);
  return rc;
}

function flushJson(ctx: Context, objects: JsonValue[], json: boolean): void {
  if (!json || objects.length === 0) return;
  ctx.print(formatJson(objects.length === 1 && ctx.args.length <= 1 ? objects[0]! : objects, ctx.options.output as JsonStyle));
  objects.length = 0;
}

export async function getAll(bus: BusClient, path: string): Promise<Record<string, PropertyValue>> {
  const [props] = (await bus.call(getAllProperties(MACHINE1_BUS_NAME, path))) as [Record<string, PropertyValue>];
  return props ?? {};
}

const ERRNO_BY_NAME: Record<string, string> = {
  'org.freedesktop.DBus.Error.AccessDenied': 'Permission denied',
  'org.freedesktop.DBus.Error.NotSupported': 'Operation not supported',
  'org.freedesktop.DBus.Error.UnknownObject': 'Unknown request code',
  'org.freedesktop.DBus.Error.UnknownMethod': 'Unknown request code',
  'org.freedesktop.DBus.Error.UnknownInterface': 'Unknown request code',
  'org.freedesktop.DBus.Error.InvalidArgs': 'Invalid argument',
  'org.freedesktop.DBus.Error.ServiceUnknown': 'Host is down',
  'org.freedesktop.DBus.Error.NameHasNoOwner': 'No such device or address',
  'org.freedesktop.DBus.Error.NoReply': 'Connection timed out',
  'org.freedesktop.DBus.Error.Timeout': 'Connection timed out',
};

function errnoText(e: unknown): string {
  const err = toCallError(e);
  return (err.errorName && ERRNO_BY_NAME[err.errorName]) || (err.errorName ? 'Input/output error' : err.message);
}
