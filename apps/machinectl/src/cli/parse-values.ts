/**
 * Parsers for option and argument values with systemd's rules (parse_boolean, safe_atou,
 * parse_size with base 1024), so the same inputs are accepted and rejected as upstream.
 */

const TRUE_WORDS = new Set(['1', 'yes', 'y', 'true', 't', 'on']);
const FALSE_WORDS = new Set(['0', 'no', 'n', 'false', 'f', 'off']);

export function parseBoolean(s: string): boolean | undefined {
  const v = s.toLowerCase();
  if (TRUE_WORDS.has(v)) return true;
  if (FALSE_WORDS.has(v)) return false;
  return undefined;
}

/** safe_atou: an unsigned decimal that fits in 32 bits (strtoul accepts leading blanks and '+'). */
export function parseUnsigned(s: string): number | undefined {
  const m = /^\s*\+?(\d+)$/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n <= 0xffffffff ? n : undefined;
}

const SIZE_SUFFIXES_1024: Array<[string, bigint]> = [
  ['E', 1024n ** 6n],
  ['P', 1024n ** 5n],
  ['T', 1024n ** 4n],
  ['G', 1024n ** 3n],
  ['M', 1024n ** 2n],
  ['K', 1024n],
  ['B', 1n],
  ['', 1n],
];

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * parse_size(s, 1024): one or more `<number>[.<fraction>][suffix]` parts, summed ("1G 512M");
 * suffixes B K M G T P E are powers of 1024. Returns undefined where upstream fails.
 */
export function parseSize(input: string): bigint | undefined {
  let p = input;
  let total = 0n;
  let any = false;
  while (true) {
    p = p.replace(/^\s+/, '');
    if (p.length === 0) break;
    const m = /^(\d+)(?:\.(\d*))?\s*/.exec(p);
    if (!m || p.startsWith('-')) return undefined;
    p = p.slice(m[0].length);
    const suffix = SIZE_SUFFIXES_1024.find(([s]) => s !== '' && p.startsWith(s)) ?? SIZE_SUFFIXES_1024[SIZE_SUFFIXES_1024.length - 1]!;
    p = p.slice(suffix[0].length);
    const whole = BigInt(m[1]!);
    const factor = suffix[1];
    let part = whole * factor;
    const frac = m[2] ?? '';
    if (frac.length > 0) {
      // Upstream scales the fraction by the factor and truncates.
      part += (BigInt(frac) * factor) / 10n ** BigInt(frac.length);
    }
    total += part;
    if (total > UINT64_MAX) return undefined;
    any = true;
  }
  return any ? total : undefined;
}
