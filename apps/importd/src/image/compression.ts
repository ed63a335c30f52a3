/**
 * Compression of images, detected from content (the first bytes), never trusted from a file name:
 * a `.tar.xz` served as plain tar, or a pipe with no name at all, still import. Decompression and
 * compression run as the standard tools in child processes.
 */
import type { ExportFormat } from '@machined/protocol';

export type Compression = 'uncompressed' | 'xz' | 'gzip' | 'bzip2' | 'zstd';

/** Enough leading bytes to tell every format below apart. */
export const MAGIC_BYTES_NEEDED = 6;

const MAGICS: [Compression, number[]][] = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['gzip', [0x1f, 0x8b]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

const QCOW2_MAGIC = [0x51, 0x46, 0x49, 0xfb];

const startsWith = (head: Buffer, magic: number[]) => head.length >= magic.length && magic.every((b, i) => head[i] === b);

/** The compression of a stream starting with `head`; anything unrecognized is taken as uncompressed. */
export function detectCompression(head: Buffer): Compression {
  for (const [kind, magic] of MAGICS) if (startsWith(head, magic)) return kind;
  return 'uncompressed';
}

/** qcow2 ("QFI\xfb"), found after decompression: raw imports and pulls convert it (qcow2.ts). */
export function isQcow2(head: Buffer): boolean {
  return startsWith(head, QCOW2_MAGIC);
}

const DECOMPRESSORS: Record<Exclude<Compression, 'uncompressed'>, [string, string[]]> = {
  xz: ['xz', ['-dc']],
  gzip: ['gzip', ['-dc']],
  bzip2: ['bzip2', ['-dc']],
  zstd: ['zstd', ['-dcq']],
};

/** The command that turns this compression into plain bytes on stdout, or null when there is none. */
export function decompressCommand(c: Compression): [string, string[]] | null {
  return c === 'uncompressed' ? null : DECOMPRESSORS[c];
}

const COMPRESSORS: Record<Exclude<ExportFormat, 'uncompressed'>, [string, string[]]> = {
  xz: ['xz', ['-c', '-T0']],
  gzip: ['gzip', ['-c']],
  bzip2: ['bzip2', ['-c']],
  zstd: ['zstd', ['-cq']],
};

/** The command that compresses stdin to stdout in the export format, or null for uncompressed. */
export function compressCommand(f: ExportFormat): [string, string[]] | null {
  return f === 'uncompressed' ? null : COMPRESSORS[f];
}
