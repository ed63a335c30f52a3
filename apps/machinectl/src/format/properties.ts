/**
 * Key=Value printing of Properties.GetAll replies, as sd-bus's bus_print_all_properties() and
 * bus_print_property() do it for `show` and `show-image`: empty values hidden unless -a or -p,
 * --value printing only the value, timestamps formatted for names ending in "Timestamp",
 * "infinity" for Limit* at UINT64_MAX, byte arrays in hex, and "[unprintable]" for what it cannot
 * print (an `ai`, a string with a newline).
 */
import type { JsonValue } from './json.js';
import { formatTimestamp } from './timestamp.js';

export interface PropertyValue {
  signature: string;
  value: unknown;
}

export interface PrintFlags {
  /** Only these properties (-p), in the server's order. */
  filter: string[];
  showEmpty: boolean;
  valueOnly: boolean;
}

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

function line(name: string, value: string | undefined, f: PrintFlags): string {
  if (!f.showEmpty && (value === undefined || value === '')) return '';
  return f.valueOnly ? `${value ?? ''}\n` : `${name}=${value ?? ''}\n`;
}

function formatUint64(name: string, u: bigint): string | undefined {
  if (name.endsWith('Timestamp') || ['NextElapseUSecRealtime', 'LastTriggerUSec', 'TimeUSec', 'RTCTimeUSec'].includes(name)) {
    return formatTimestamp(u);
  }
  if ((name.startsWith('Limit') || name.startsWith('DefaultLimit')) && u === UINT64_MAX) return 'infinity';
  return u.toString();
}

/** One property's lines; undefined when upstream cannot print its type. */
function printProperty(name: string, p: PropertyValue, f: PrintFlags): string | undefined {
  const v = p.value;
  switch (p.signature) {
    case 's':
    case 'o':
    case 'g': {
      const s = String(v ?? '');
      if (!f.showEmpty && s === '') return '';
      return line(name, s.includes('\n') ? '[unprintable]' : s, f);
    }
    case 'b':
      return line(name, v ? 'yes' : 'no', f);
    case 't':
    case 'x':
      return line(name, formatUint64(name, BigInt(v as bigint)), f);
    case 'u': {
      const n = Number(v);
      return line(name, name.includes('UMask') || name.includes('Mode') ? n.toString(8).padStart(4, '0') : String(n), f);
    }
    case 'i':
    case 'n':
    case 'q':
    case 'y':
      return line(name, String(v), f);
    case 'd':
      return line(name, String(v), f);
    case 'ay': {
      const bytes = v as Buffer;
      if (!f.showEmpty && bytes.length === 0) return '';
      return (f.valueOnly ? '' : `${name}=`) + Buffer.from(bytes).toString('hex') + '\n';
    }
    case 'au': {
      const list = v as number[];
      if (!f.showEmpty && list.length === 0) return '';
      return (f.valueOnly ? '' : `${name}=`) + list.map((n) => n.toString(16).padStart(8, '0')).join('') + '\n';
    }
    case 'as': {
      const list = v as string[];
      if (list.length === 0) return f.showEmpty ? (f.valueOnly ? '\n' : `${name}=\n`) : '';
      const escaped = list.map((s) => s.replace(/[\\\n ]/g, (c) => (c === '\n' ? '\\n' : c === ' ' ? '\\x20' : '\\\\')));
      return (f.valueOnly ? '' : `${name}=`) + escaped.join(' ') + '\n';
    }
    default:
      return undefined;
  }
}

export function printProperties(props: Record<string, PropertyValue>, f: PrintFlags): string {
  let out = '';
  for (const [name, p] of Object.entries(props)) {
    if (f.filter.length > 0 && !f.filter.includes(name)) continue;
    const s = printProperty(name, p, f);
    if (s === undefined) {
      if (f.showEmpty) out += `${name}=[unprintable]\n`;
    } else out += s;
  }
  return out;
}

/** Our `-o json` for show: the properties as one object, typed, byte arrays in hex. */
export function propertiesToJson(props: Record<string, PropertyValue>, filter: string[]): JsonValue {
  const o: Record<string, JsonValue> = {};
  for (const [name, p] of Object.entries(props)) {
    if (filter.length > 0 && !filter.includes(name)) continue;
    o[name] = variantToJson(p);
  }
  return o;
}

function variantToJson(p: PropertyValue): JsonValue {
  const v = p.value;
  if (p.signature === 'ay') return Buffer.from(v as Buffer).toString('hex');
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((e) => variantToJson({ signature: p.signature.slice(1), value: e }));
  return null;
}
