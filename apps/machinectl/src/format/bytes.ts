/**
 * systemd's format_bytes() (format-util.c): IEC units with one digit below the point,
 * "1.1M", "1.0K", "512B"; nothing for UINT64_MAX (unknown).
 */

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
const TABLE: Array<[string, bigint]> = [
  ['E', 1024n ** 6n],
  ['P', 1024n ** 5n],
  ['T', 1024n ** 4n],
  ['G', 1024n ** 3n],
  ['M', 1024n ** 2n],
  ['K', 1024n],
];

export function formatBytes(bytes: bigint): string | undefined {
  if (bytes === UINT64_MAX) return undefined;
  const last = TABLE.length - 1;
  for (let i = 0; i < TABLE.length; i++) {
    const [suffix, factor] = TABLE[i]!;
    if (bytes >= factor) {
      const tenth = i !== last ? ((bytes / TABLE[i + 1]![1]) * 10n / TABLE[last]![1]) % 10n : ((bytes * 10n) / factor) % 10n;
      return `${bytes / factor}.${tenth}${suffix}`;
    }
  }
  return `${bytes}B`;
}
