/**
 * `status NAME…`: GetMachine, GetAll("") on its path, then its addresses, OS release and UID shift,
 * the unit with its process tree from org.freedesktop.systemd1 — the same calls, in the same
 * order, and the same text as upstream's print_machine_status_info(). The unit's journal is not
 * shown (upstream reads the local journal files directly; hosts without journald have none).
 * `-o json` (ours) prints the same facts as one JSON object per machine.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { SYSTEMD1_BUS_NAME, systemdUnitObjectPath } from '../bus/names.js';
import { toCallError, type BusClient } from '../bus/bus-client.js';
import { getProperty, machineManager, systemdManager } from '../bus/calls.js';
import { isJsonOutput } from '../cli/options.js';
import { renderUnitProcesses, type UnitProcess } from '../format/cgroup-tree.js';
import { formatJson, type JsonStyle, type JsonValue } from '../format/json.js';
import type { PropertyValue } from '../format/properties.js';
import { formatTimestamp, formatTimestampRelative } from '../format/timestamp.js';
import type { Context } from './context.js';
import { couldNot } from './errors.js';
import { machineAddresses, osReleaseFields } from './machine-info.js';
import { getAll } from './show.js';

interface MachineStatus {
  name?: string;
  id?: string;
  cls?: string;
  service?: string;
  unit?: string;
  rootDirectory?: string;
  leader: number;
  timestamp: bigint;
  netif: number[];
}

/** bus_map_all_properties(): empty strings read as unset. */
function mapStatus(p: Record<string, PropertyValue>): MachineStatus {
  const s = (k: string) => {
    const v = p[k]?.value;
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  };
  const idBytes = p.Id?.value as Buffer | undefined;
  const id = idBytes && idBytes.length === 16 && idBytes.some((b) => b !== 0) ? Buffer.from(idBytes).toString('hex') : undefined;
  return {
    name: s('Name'),
    id,
    cls: s('Class'),
    service: s('Service'),
    unit: s('Unit'),
    rootDirectory: s('RootDirectory'),
    leader: Number(p.Leader?.value ?? 0),
    timestamp: BigInt((p.Timestamp?.value as bigint | undefined) ?? 0n),
    netif: (p.NetworkInterfaces?.value as number[] | undefined) ?? [],
  };
}

function processComm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

let ifnames: Map<number, string> | undefined;
/** if_indextoname() through sysfs (the client's network namespace, as upstream). */
function interfaceName(ifindex: number): string | undefined {
  if (!ifnames) {
    ifnames = new Map();
    try {
      for (const n of readdirSync('/sys/class/net')) {
        try {
          ifnames.set(Number(readFileSync(`/sys/class/net/${n}/ifindex`, 'utf8')), n);
        } catch {
          /* raced with removal */
        }
      }
    } catch {
      /* no sysfs */
    }
  }
  return ifnames.get(ifindex);
}

const UNIT_INTERFACES: Record<string, string> = {
  service: 'Service', socket: 'Socket', target: 'Target', device: 'Device', mount: 'Mount', automount: 'Automount',
  swap: 'Swap', timer: 'Timer', path: 'Path', slice: 'Slice', scope: 'Scope',
};

async function unitTree(ctx: Context, bus: BusClient, unit: string): Promise<string> {
  const suffix = unit.slice(unit.lastIndexOf('.') + 1);
  const iface = `org.freedesktop.systemd1.${UNIT_INTERFACES[suffix] ?? 'Unit'}`;
  let cgroup: string;
  try {
    const [v] = (await bus.call(getProperty(SYSTEMD1_BUS_NAME, systemdUnitObjectPath(unit), iface, 'ControlGroup'))) as [{ value: string }];
    cgroup = String(v?.value ?? '');
  } catch (e) {
    ctx.log(`Failed to query unit control group path: ${toCallError(e).message}`);
    return '';
  }
  if (cgroup === '') return '';
  let procs: Array<[string, number, string]>;
  try {
    [procs] = (await bus.call(systemdManager('GetUnitProcesses', 's', [unit]))) as [Array<[string, number, string]>];
  } catch (e) {
    const err = toCallError(e);
    // An older systemd without GetUnitProcesses: upstream then reads the cgroup itself; we show nothing.
    if (err.errorName !== 'org.freedesktop.DBus.Error.UnknownMethod') ctx.log(`Failed to dump process list: ${err.message}`);
    return '';
  }
  const list: UnitProcess[] = (procs ?? []).map(([c, pid, command]) => ({ cgroup: c, pid, command }));
  const fullWidth = ctx.options.full || !ctx.term.onTty || ctx.term.pagerActive;
  const columns = fullWidth ? 0 : ctx.term.columns > 18 ? ctx.term.columns - 18 : 0;
  return renderUnitProcesses(list, cgroup, '\t\t  ', columns, ctx.term.utf8);
}

export async function statusMachines(ctx: Context): Promise<number> {
  ctx.usePager();
  const bus = await ctx.bus();
  const json = isJsonOutput(ctx.options.output);
  const objects: JsonValue[] = [];
  let newLine = false;
  let rc = 0;
  for (const name of ctx.args) {
    let path: string;
    try {
      [path] = (await bus.call(machineManager('GetMachine', 's', [name]))) as [string];
    } catch (e) {
      rc = couldNot(ctx, 'Could not get path to machine', e);
      break;
    }
    let props: Record<string, PropertyValue>;
    try {
      props = await getAll(bus, path);
    } catch (e) {
      rc = couldNot(ctx, 'Could not get properties', e);
      break;
    }
    const st = mapStatus(props);
    if (json) {
      objects.push(await statusJson(bus, st));
      continue;
    }
    if (newLine) ctx.print('\n');
    newLine = true;
    ctx.print(await statusText(ctx, bus, st));
  }
  if (json && objects.length > 0) ctx.print(formatJson(objects.length === 1 ? objects[0]! : objects, ctx.options.output as JsonStyle));
  return rc;
}

async function statusText(ctx: Context, bus: BusClient, i: MachineStatus): Promise<string> {
  let out = (i.name ?? 'n/a') + (i.id ? `(${i.id})\n` : '\n');
  const rel = formatTimestampRelative(i.timestamp);
  const abs = formatTimestamp(i.timestamp);
  if (rel) out += `\t   Since: ${abs ?? 'n/a'}; ${rel}\n`;
  else if (abs) out += `\t   Since: ${abs}\n`;
  if (i.leader > 0) {
    const comm = processComm(i.leader);
    out += `\t  Leader: ${i.leader}${comm !== undefined ? ` (${comm})` : ''}\n`;
  }
  if (i.service) out += `\t Service: ${i.service}${i.cls ? `; class ${i.cls}` : ''}\n`;
  else if (i.cls) out += `\t   Class: ${i.cls}\n`;
  if (i.rootDirectory) out += `\t    Root: ${i.rootDirectory}\n`;
  let ifi = -1;
  if (i.netif.length > 0) {
    out += '\t   Iface:';
    for (const idx of i.netif) {
      const n = interfaceName(idx);
      if (n) {
        out += ` ${n}`;
        ifi = ifi < 0 ? idx : 0;
      } else out += ` ${idx}`;
    }
    out += '\n';
  }
  const name = i.name ?? '';
  // Upstream asks these one after the other; they do not depend on each other, so ask together.
  const [addresses, os, shift] = await Promise.all([
    machineAddresses(bus, name, ifi, '\t Address: ', '\n\t          '),
    osReleaseFields(bus, 'GetMachineOSRelease', name),
    uidShift(bus, name),
  ]);
  if (addresses && addresses.count > 0) out += addresses.text + '\n';
  if (os?.PRETTY_NAME) out += `\t      OS: ${os.PRETTY_NAME}\n`;
  if (shift) out += `       UID Shift: ${shift}\n`;
  if (i.unit) {
    out += `\t    Unit: ${i.unit}\n`;
    // Printed before asking systemd1, so that its error line comes after this, as upstream's.
    ctx.print(out);
    out = await unitTree(ctx, bus, i.unit);
  }
  return out;
}

async function uidShift(bus: BusClient, name: string): Promise<number | undefined> {
  try {
    const [s] = (await bus.call(machineManager('GetMachineUIDShift', 's', [name]))) as [number];
    return s;
  } catch {
    return undefined;
  }
}

async function statusJson(bus: BusClient, i: MachineStatus): Promise<JsonValue> {
  const name = i.name ?? '';
  const [addresses, os, shift] = await Promise.all([
    machineAddresses(bus, name, 0, '', '\n'),
    osReleaseFields(bus, 'GetMachineOSRelease', name),
    uidShift(bus, name),
  ]);
  return {
    name: i.name ?? null,
    id: i.id ?? null,
    since: i.timestamp > 0n ? i.timestamp : null,
    leader: i.leader > 0 ? i.leader : null,
    leaderCommand: i.leader > 0 ? (processComm(i.leader) ?? null) : null,
    service: i.service ?? null,
    class: i.cls ?? null,
    rootDirectory: i.rootDirectory ?? null,
    networkInterfaces: i.netif,
    addresses: addresses && addresses.count > 0 ? addresses.text.split('\n') : [],
    os: os?.PRETTY_NAME ?? null,
    uidShift: shift ?? null,
    unit: i.unit ?? null,
  };
}
