/**
 * Image verbs that read: `list-images` (ListImages) and `image-status [NAME…]` (GetImage, GetAll,
 * then hostname, machine ID, machine-info and OS release of the image), printed as upstream's
 * list_images() and print_image_status_info() do.
 */
import { MACHINE1_PATH } from '../bus/names.js';
import type { BusClient } from '../bus/bus-client.js';
import { machineManager } from '../bus/calls.js';
import { isJsonOutput } from '../cli/options.js';
import { formatBytes } from '../format/bytes.js';
import { formatJson, type JsonStyle, type JsonValue } from '../format/json.js';
import type { PropertyValue } from '../format/properties.js';
import { Table } from '../format/table.js';
import { formatTimestamp, formatTimestampRelative, timestampIsSet } from '../format/timestamp.js';
import { ANSI_HIGHLIGHT_RED, ANSI_NORMAL } from '../output/terminal.js';
import type { Context } from './context.js';
import { couldNot } from './errors.js';
import { showTable } from './list.js';
import { osReleaseFields } from './machine-info.js';
import { getAll } from './show.js';

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

export async function listImages(ctx: Context): Promise<number> {
  ctx.usePager();
  const bus = await ctx.bus();
  let images: Array<[string, string, boolean, bigint, bigint, bigint, string]>;
  try {
    [images] = (await bus.call(machineManager('ListImages'))) as [typeof images];
  } catch (e) {
    return couldNot(ctx, 'Could not get images', e);
  }
  const table = new Table({ columns: ['name', 'type', 'ro', 'usage', 'created', 'modified'], full: ctx.options.full, headerAlign: { 3: 100 } });
  for (const [name, type, ro, crtime, mtime, size] of images) {
    if (name.startsWith('.') && !ctx.options.all) continue;
    table.add([
      { kind: 'string', value: name },
      { kind: 'string', value: type },
      { kind: 'boolean', value: ro, color: ro ? ANSI_HIGHLIGHT_RED : undefined },
      { kind: 'size', value: BigInt(size) },
      { kind: 'timestamp', value: BigInt(crtime) },
      { kind: 'timestamp', value: BigInt(mtime) },
    ]);
  }
  showTable(ctx, table, 'images');
  return 0;
}

interface ImageStatus {
  name?: string;
  path?: string;
  type?: string;
  readOnly: boolean;
  crtime: bigint;
  mtime: bigint;
  usage: bigint;
  limit: bigint;
  usageExclusive: bigint;
  limitExclusive: bigint;
}

function mapImage(p: Record<string, PropertyValue>): ImageStatus {
  const s = (k: string) => {
    const v = p[k]?.value;
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  };
  const t = (k: string, d: bigint) => (p[k] ? BigInt(p[k]!.value as bigint) : d);
  return {
    name: s('Name'),
    path: s('Path'),
    type: s('Type'),
    readOnly: p.ReadOnly?.value === true,
    crtime: t('CreationTimestamp', 0n),
    mtime: t('ModificationTimestamp', 0n),
    usage: t('Usage', 0n),
    limit: t('Limit', 0n),
    usageExclusive: t('UsageExclusive', 0n),
    limitExclusive: t('LimitExclusive', 0n),
  };
}

export async function imageStatus(ctx: Context): Promise<number> {
  ctx.usePager();
  const bus = await ctx.bus();
  const json = isJsonOutput(ctx.options.output);
  const objects: JsonValue[] = [];
  const flush = () => {
    if (json && objects.length > 0) ctx.print(formatJson(objects.length === 1 ? objects[0]! : objects, ctx.options.output as JsonStyle));
  };
  if (ctx.args.length === 0) {
    let p: Record<string, PropertyValue>;
    try {
      p = await getAll(bus, MACHINE1_PATH);
    } catch (e) {
      return couldNot(ctx, 'Could not get properties', e);
    }
    const path = typeof p.PoolPath?.value === 'string' && p.PoolPath.value ? p.PoolPath.value : undefined;
    const usage = p.PoolUsage ? BigInt(p.PoolUsage.value as bigint) : UINT64_MAX;
    const limit = p.PoolLimit ? BigInt(p.PoolLimit.value as bigint) : UINT64_MAX;
    if (json) {
      objects.push({ path: path ?? null, usage: usage === UINT64_MAX ? null : usage, limit: limit === UINT64_MAX ? null : limit });
      flush();
      return 0;
    }
    if (path) ctx.print(`\t    Path: ${path}\n`);
    if (usage !== UINT64_MAX) ctx.print(`\t   Usage: ${formatBytes(usage)}\n`);
    if (limit !== UINT64_MAX) ctx.print(`\t   Limit: ${formatBytes(limit)}\n`);
    return 0;
  }
  let newLine = false;
  for (const name of ctx.args) {
    let path: string;
    try {
      [path] = (await bus.call(machineManager('GetImage', 's', [name]))) as [string];
    } catch (e) {
      flush();
      return couldNot(ctx, 'Could not get path to image', e);
    }
    let props: Record<string, PropertyValue>;
    try {
      props = await getAll(bus, path);
    } catch (e) {
      flush();
      return couldNot(ctx, 'Could not get properties', e);
    }
    const i = mapImage(props);
    const extra = await imageExtras(bus, i.name ?? '');
    if (json) {
      objects.push(imageJson(i, extra));
      continue;
    }
    if (newLine) ctx.print('\n');
    newLine = true;
    ctx.print(imageStatusText(ctx, i, extra));
  }
  flush();
  return 0;
}

interface ImageExtras {
  hostname?: string;
  machineId?: string;
  deployment?: string;
  os?: string;
}

async function imageExtras(bus: BusClient, name: string): Promise<ImageExtras> {
  const quiet = async <T>(p: Promise<T>): Promise<T | undefined> => {
    try {
      return await p;
    } catch {
      return undefined;
    }
  };
  const [hn, id, info, os] = await Promise.all([
    quiet(bus.call(machineManager('GetImageHostname', 's', [name]))),
    quiet(bus.call(machineManager('GetImageMachineID', 's', [name]))),
    quiet(bus.call(machineManager('GetImageMachineInfo', 's', [name]))),
    osReleaseFields(bus, 'GetImageOSRelease', name),
  ]);
  const idBytes = id?.[0] as Buffer | undefined;
  return {
    hostname: (hn?.[0] as string | undefined) || undefined,
    machineId: idBytes && idBytes.length === 16 && idBytes.some((b) => b !== 0) ? Buffer.from(idBytes).toString('hex') : undefined,
    deployment: (info?.[0] as Record<string, string> | undefined)?.DEPLOYMENT,
    os: os?.PRETTY_NAME,
  };
}

function sizeLine(label: string, v: bigint, exclusive: bigint): string {
  if (v === UINT64_MAX) return '';
  if (exclusive !== v && exclusive !== UINT64_MAX) return `\t   ${label}: ${formatBytes(v)} (exclusive: ${formatBytes(exclusive)})\n`;
  return `\t   ${label}: ${formatBytes(v)}\n`;
}

function imageStatusText(ctx: Context, i: ImageStatus, x: ImageExtras): string {
  let out = i.name ? `${i.name}\n` : '';
  if (i.type) out += `\t    Type: ${i.type}\n`;
  if (i.path) out += `\t    Path: ${i.path}\n`;
  if (x.hostname) out += `\tHostname: ${x.hostname}\n`;
  if (x.machineId) out += `      Machine ID: ${x.machineId}\n`;
  if (x.deployment !== undefined) out += `      Deployment: ${x.deployment}\n`;
  if (x.os) out += `\t      OS: ${x.os}\n`;
  const red = ctx.term.colors && i.readOnly;
  out += `\t      RO: ${red ? ANSI_HIGHLIGHT_RED : ''}${i.readOnly ? 'read-only' : 'writable'}${red ? ANSI_NORMAL : ''}\n`;
  if (timestampIsSet(i.crtime)) out += `\t Created: ${formatTimestamp(i.crtime) ?? 'n/a'}; ${formatTimestampRelative(i.crtime)}\n`;
  if (timestampIsSet(i.mtime)) out += `\tModified: ${formatTimestamp(i.mtime) ?? 'n/a'}; ${formatTimestampRelative(i.mtime)}\n`;
  out += sizeLine('Usage', i.usage, i.usageExclusive);
  out += sizeLine('Limit', i.limit, i.limitExclusive);
  return out;
}

function imageJson(i: ImageStatus, x: ImageExtras): JsonValue {
  const n = (v: bigint) => (v === UINT64_MAX ? null : v);
  return {
    name: i.name ?? null,
    type: i.type ?? null,
    path: i.path ?? null,
    hostname: x.hostname ?? null,
    machineId: x.machineId ?? null,
    deployment: x.deployment ?? null,
    os: x.os ?? null,
    readOnly: i.readOnly,
    created: timestampIsSet(i.crtime) ? i.crtime : null,
    modified: timestampIsSet(i.mtime) ? i.mtime : null,
    usage: n(i.usage),
    usageExclusive: n(i.usageExclusive),
    limit: n(i.limit),
    limitExclusive: n(i.limitExclusive),
  };
}
