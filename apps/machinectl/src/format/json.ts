/**
 * JSON the way systemd's json_variant_dump() writes it: compact (`-o json`), or pretty
 * (`-o json-pretty`: tab indentation, `"key" : value`), each followed by a newline; `json-sse`
 * and `json-seq` frame the compact form. Unsigned 64-bit values stay exact (bigint).
 */

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

export type JsonStyle = 'json' | 'json-pretty' | 'json-sse' | 'json-seq';

function scalar(v: JsonValue): string | undefined {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return JSON.stringify(v);
  return undefined;
}

export function jsonCompact(v: JsonValue): string {
  const s = scalar(v);
  if (s !== undefined) return s;
  if (Array.isArray(v)) return `[${v.map(jsonCompact).join(',')}]`;
  const obj = v as Record<string, JsonValue>;
  return `{${Object.keys(obj).map((k) => `${JSON.stringify(k)}:${jsonCompact(obj[k]!)}`).join(',')}}`;
}

export function jsonPretty(v: JsonValue, indent = ''): string {
  const s = scalar(v);
  if (s !== undefined) return s;
  const inner = indent + '\t';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((e) => inner + jsonPretty(e, inner)).join(',\n')}\n${indent}]`;
  }
  const obj = v as Record<string, JsonValue>;
  const keys = Object.keys(obj);
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)} : ${jsonPretty(obj[k]!, inner)}`).join(',\n')}\n${indent}}`;
}

/** The text to print for v in one of the JSON output modes, trailing newline included. */
export function formatJson(v: JsonValue, style: JsonStyle): string {
  switch (style) {
    case 'json-pretty':
      return jsonPretty(v) + '\n';
    case 'json-sse':
      return `data: ${jsonCompact(v)}\n\n`;
    case 'json-seq':
      return `\x1e${jsonCompact(v)}\n`;
    default:
      return jsonCompact(v) + '\n';
  }
}
