/**
 * qcow2 → raw, as upstream's importers do it (src/import/qcow2-util.c) rather than through
 * qemu-img: read the header, walk the two-level cluster map (L1 table → L2 tables → data
 * clusters) and write every allocated guest cluster at its guest offset in a file of the image's
 * virtual size. Unallocated and zero clusters are left as holes, so the result is as sparse as
 * the qcow2 was. Compressed clusters (raw deflate) are inflated.
 *
 * Refused with a sentence saying why: versions other than 2 and 3, encryption, a backing file
 * (the image alone is not the disk), and the v3 features that change how clusters are found or
 * stored (external data file, zstd compression, extended L2 entries) or that mark it corrupt.
 */
import type { FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { TransferError } from '../transfer/transfer.js';
import { isQcow2 } from './compression.js';

/** The v2 header is 72 bytes; v3 adds five fields (104 bytes). */
const V2_HEADER_BYTES = 72;
const V3_HEADER_BYTES = 104;

/** L1/L2 entry bits (qcow2 spec): the offset, "copied" (refcount 1), "compressed", "reads as zeros". */
const OFFSET_MASK = 0x00ff_ffff_ffff_fe00n;
const COMPRESSED = 1n << 62n;
const ZERO = 1n;

/** Incompatible feature bits of v3 (byte 72). Dirty only means refcounts may be stale, which we never read. */
const INCOMPATIBLE: [bigint, string][] = [
  [1n << 1n, 'is marked corrupt'],
  [1n << 2n, 'keeps its data in an external data file'],
  [1n << 3n, 'uses a compression type other than zlib'],
  [1n << 4n, 'uses extended L2 entries (subclusters)'],
];
const KNOWN_INCOMPATIBLE = 0x1fn;

/** L1 tables above this many entries are refused, as upstream does (32 Mi entries). */
const L1_MAX_ENTRIES = 32 * 1024 * 1024;

export class Qcow2Error extends TransferError {}

export interface Qcow2Header {
  version: 2 | 3;
  clusterBits: number;
  clusterSize: number;
  /** Virtual disk size in bytes: the size of the raw result. */
  size: number;
  l1Size: number;
  l1TableOffset: number;
  backingFileOffset: number;
  backingFileSize: number;
}

function safe(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new Qcow2Error(`Invalid qcow2 image: ${what} ${n} is out of range.`);
  return Number(n);
}

/**
 * The header from the first bytes of an image (at least 104 for v3), checked: everything the
 * conversion relies on is validated here, so the walk below only meets offsets.
 */
export function parseQcow2Header(buf: Buffer): Qcow2Header {
  if (buf.length < V2_HEADER_BYTES || !isQcow2(buf)) throw new Qcow2Error('Not a qcow2 image (bad magic or truncated header).');
  const version = buf.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new Qcow2Error(`qcow2 version ${version} is not supported (only 2 and 3).`);
  const backingFileOffset = safe(buf.readBigUInt64BE(8), 'backing file offset');
  const backingFileSize = buf.readUInt32BE(16);
  const clusterBits = buf.readUInt32BE(20);
  const size = safe(buf.readBigUInt64BE(24), 'virtual size');
  const cryptMethod = buf.readUInt32BE(32);
  const l1Size = buf.readUInt32BE(36);
  const l1TableOffset = safe(buf.readBigUInt64BE(40), 'L1 table offset');

  if (cryptMethod !== 0) throw new Qcow2Error('Encrypted qcow2 images are not supported.');
  if (clusterBits < 9 || clusterBits > 21) throw new Qcow2Error(`Invalid qcow2 image: cluster bits ${clusterBits} outside 9…21.`);
  const clusterSize = 2 ** clusterBits;
  if (l1Size > L1_MAX_ENTRIES) throw new Qcow2Error(`Invalid qcow2 image: L1 table of ${l1Size} entries is too large.`);
  const l2Entries = clusterSize / 8;
  const needed = Math.ceil(size / clusterSize / l2Entries);
  if (l1Size < needed) throw new Qcow2Error(`Invalid qcow2 image: L1 table of ${l1Size} entries cannot map ${size} bytes.`);
  if (l1Size > 0 && (l1TableOffset === 0 || l1TableOffset % clusterSize !== 0)) throw new Qcow2Error('Invalid qcow2 image: misaligned L1 table.');

  if (version === 3) {
    if (buf.length < V3_HEADER_BYTES) throw new Qcow2Error('Invalid qcow2 image: truncated version 3 header.');
    const incompatible = buf.readBigUInt64BE(72);
    for (const [bit, why] of INCOMPATIBLE) if (incompatible & bit) throw new Qcow2Error(`The qcow2 image ${why}; it cannot be converted.`);
    if (incompatible & ~KNOWN_INCOMPATIBLE) throw new Qcow2Error(`The qcow2 image uses unknown incompatible features (0x${incompatible.toString(16)}); it cannot be converted.`);
    const headerLength = buf.readUInt32BE(100);
    if (headerLength < V3_HEADER_BYTES) throw new Qcow2Error(`Invalid qcow2 image: header length ${headerLength} is below ${V3_HEADER_BYTES}.`);
  }
  return { version, clusterBits, clusterSize, size, l1Size, l1TableOffset, backingFileOffset, backingFileSize };
}

async function readExactly(fh: FileHandle, length: number, position: number, what: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw new Qcow2Error(`Invalid qcow2 image: ${what} at offset ${position} lies beyond the end of the file.`);
    got += bytesRead;
  }
  return buf;
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** Largest cluster (cluster bits 21); compared against with memcmp to find clusters of zeros. */
const ZEROS = Buffer.alloc(1 << 21);
const isZero = (b: Buffer) => b.equals(ZEROS.subarray(0, b.length));

/** Writes `data` at `position` skipping all-zero clusters, so holes stay holes. */
async function writeSparse(fh: FileHandle, data: Buffer, position: number, clusterSize: number): Promise<void> {
  let runStart = -1;
  for (let off = 0; off < data.length; off += clusterSize) {
    const zero = isZero(data.subarray(off, Math.min(data.length, off + clusterSize)));
    if (!zero && runStart < 0) runStart = off;
    if (zero && runStart >= 0) {
      await writeAll(fh, data.subarray(runStart, off), position + runStart);
      runStart = -1;
    }
  }
  if (runStart >= 0) await writeAll(fh, data.subarray(runStart), position + runStart);
}

export interface ConvertOptions {
  signal?: AbortSignal;
  /** Fraction 0..1 of the guest clusters walked. */
  onProgress?: (fraction: number) => void;
}

/** Largest run of host-contiguous clusters read in one go. */
const MAX_RUN_BYTES = 8 << 20;

/**
 * Converts the qcow2 image in `src` into raw bytes in `dst` (emptied first, then sized to the
 * virtual size). Only reads and writes at offsets; neither handle's position matters.
 */
export async function convertQcow2(src: FileHandle, dst: FileHandle, options: ConvertOptions = {}): Promise<Qcow2Header> {
  const { size: fileSize } = await src.stat();
  const header = parseQcow2Header(await readExactly(src, Math.min(V3_HEADER_BYTES, fileSize), 0, 'header').catch(() => {
    throw new Qcow2Error('Invalid qcow2 image: truncated header.');
  }));
  if (header.backingFileOffset !== 0) {
    let name = '';
    if (header.backingFileSize > 0 && header.backingFileSize <= 1023) {
      name = (await readExactly(src, header.backingFileSize, header.backingFileOffset, 'backing file name').catch(() => Buffer.alloc(0))).toString('utf8');
    }
    throw new Qcow2Error(
      `The qcow2 image has a backing file${name ? ` ('${name}')` : ''}, so it is not a whole disk on its own; refusing it. Flatten it first (qemu-img convert -O qcow2 without -B).`,
    );
  }
  const { clusterSize, clusterBits, size } = header;
  const l2Entries = clusterSize / 8;
  // The compressed descriptor splits bits 0..61 into host offset (low x bits) and sector count.
  const csizeShift = BigInt(62 - (clusterBits - 8));
  const csizeMask = (1n << BigInt(clusterBits - 8)) - 1n;
  const coffMask = (1n << csizeShift) - 1n;

  await dst.truncate(0);
  await dst.truncate(size);
  const l1 = await readExactly(src, header.l1Size * 8, header.l1TableOffset, 'L1 table');
  const guestClusters = Math.ceil(size / clusterSize);
  let walked = 0;

  // A run of data clusters adjacent both on the host and in the guest, flushed as one read.
  let run: { host: number; guest: number; bytes: number } | null = null;
  const flush = async () => {
    if (!run) return;
    const data = await readExactly(src, run.bytes, run.host, 'data cluster');
    await writeSparse(dst, data, run.guest, clusterSize);
    run = null;
  };

  for (let i = 0; i < header.l1Size; i++) {
    if (options.signal?.aborted) throw options.signal.reason;
    const l2Offset = Number(l1.readBigUInt64BE(i * 8) & OFFSET_MASK);
    if (i * l2Entries >= guestClusters) break;
    if (l2Offset === 0) {
      walked += l2Entries;
      continue;
    }
    if (l2Offset % clusterSize !== 0) throw new Qcow2Error(`Invalid qcow2 image: L2 table at misaligned offset ${l2Offset}.`);
    const l2 = await readExactly(src, clusterSize, l2Offset, 'L2 table');
    for (let j = 0; j < l2Entries; j++) {
      const guest = (i * l2Entries + j) * clusterSize;
      if (guest >= size) break;
      const length = Math.min(clusterSize, size - guest);
      const entry = l2.readBigUInt64BE(j * 8);
      if (entry & COMPRESSED) {
        await flush();
        const off = entry & coffMask;
        const sectors = (entry >> csizeShift) & csizeMask;
        const host = Number(off);
        // The data ends at the end of its last sector; at the end of the file it may be shorter.
        const csize = Math.min(Number((sectors + 1n) * 512n - (off & 511n)), fileSize - host);
        if (csize <= 0) throw new Qcow2Error(`Invalid qcow2 image: compressed cluster at offset ${host} lies beyond the end of the file.`);
        const packed = await readExactly(src, csize, host, 'compressed cluster');
        let plain: Buffer;
        try {
          plain = inflateRawSync(packed, { finishFlush: 2 /* Z_SYNC_FLUSH: the sector padding is not part of the stream */ });
        } catch (e) {
          throw new Qcow2Error(`Invalid qcow2 image: compressed cluster at offset ${host} does not inflate: ${(e as Error).message}.`);
        }
        if (plain.length < length) throw new Qcow2Error(`Invalid qcow2 image: compressed cluster at offset ${host} holds ${plain.length} bytes, not ${clusterSize}.`);
        await writeSparse(dst, plain.subarray(0, length), guest, clusterSize);
        continue;
      }
      const host = Number(entry & OFFSET_MASK);
      if ((header.version === 3 && entry & ZERO) || host === 0) {
        await flush();
        continue; // reads as zeros: a hole in the sparse result
      }
      if (host % clusterSize !== 0) throw new Qcow2Error(`Invalid qcow2 image: data cluster at misaligned offset ${host}.`);
      if (run && run.host + run.bytes === host && run.guest + run.bytes === guest && run.bytes + length <= MAX_RUN_BYTES) {
        run.bytes += length;
      } else {
        await flush();
        run = { host, guest, bytes: length };
      }
    }
    await flush();
    walked += l2Entries;
    options.onProgress?.(Math.min(1, walked / Math.max(1, guestClusters)));
  }
  await flush();
  return header;
}
