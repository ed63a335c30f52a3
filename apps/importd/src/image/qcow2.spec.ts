import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { convertQcow2, parseQcow2Header, Qcow2Error } from './qcow2.js';

/**
 * qcow2 images built byte by byte (512-byte clusters, so one L2 table maps 64 clusters): the
 * converter must put every kind of cluster where the guest sees it.
 */
const CLUSTER = 512;
const COPIED = 1n << 63n;

interface Built {
  image: Buffer;
  raw: Buffer;
}

function header(fields: { version?: number; size: number; l1Size: number; l1Offset: number; backing?: [number, number]; crypt?: number; incompatible?: bigint; clusterBits?: number }): Buffer {
  const h = Buffer.alloc(CLUSTER);
  h.writeUInt32BE(0x514649fb, 0);
  h.writeUInt32BE(fields.version ?? 3, 4);
  h.writeBigUInt64BE(BigInt(fields.backing?.[0] ?? 0), 8);
  h.writeUInt32BE(fields.backing?.[1] ?? 0, 16);
  h.writeUInt32BE(fields.clusterBits ?? 9, 20);
  h.writeBigUInt64BE(BigInt(fields.size), 24);
  h.writeUInt32BE(fields.crypt ?? 0, 32);
  h.writeUInt32BE(fields.l1Size, 36);
  h.writeBigUInt64BE(BigInt(fields.l1Offset), 40);
  h.writeBigUInt64BE(fields.incompatible ?? 0n, 72);
  h.writeUInt32BE(4, 96); // refcount order
  h.writeUInt32BE(104, 100); // header length
  return h;
}

/**
 * Guest clusters: 0,1 plain data in adjacent host clusters; 2 a zero cluster whose host cluster
 * holds garbage; 3 unallocated; 4 deflate-compressed at an unaligned host offset; 5 a partial
 * last cluster (the disk is 5.39 clusters long).
 */
function buildImage(version: 2 | 3 = 3): Built {
  const size = 5 * CLUSTER + 200;
  const clusters: Buffer[] = Array.from({ length: 9 }, () => Buffer.alloc(CLUSTER));
  const a = Buffer.alloc(CLUSTER, 0xa1);
  const b = Buffer.alloc(CLUSTER, 0xb2);
  const c = Buffer.from('compressible '.repeat(40)).subarray(0, CLUSTER);
  const d = Buffer.alloc(CLUSTER, 0xd4);
  clusters[0] = header({ version, size, l1Size: 1, l1Offset: 1 * CLUSTER });
  clusters[1]!.writeBigUInt64BE(COPIED | BigInt(2 * CLUSTER), 0);
  const l2 = clusters[2]!;
  l2.writeBigUInt64BE(COPIED | BigInt(3 * CLUSTER), 0);
  l2.writeBigUInt64BE(COPIED | BigInt(4 * CLUSTER), 8);
  a.copy(clusters[3]!);
  b.copy(clusters[4]!);
  clusters[5]!.fill(0xee);
  if (version === 3) l2.writeBigUInt64BE(COPIED | BigInt(5 * CLUSTER) | 1n, 16); // reads as zeros
  // entry 3 stays 0: unallocated
  const packed = deflateRawSync(c);
  const coff = 6 * CLUSTER + 17;
  packed.copy(clusters[6]!, 17);
  const sectors = BigInt(Math.floor((coff + packed.length - 1) / 512) - Math.floor(coff / 512));
  const shift = 62n - (9n - 8n);
  l2.writeBigUInt64BE((1n << 62n) | (sectors << shift) | BigInt(coff), 32);
  d.copy(clusters[7]!);
  l2.writeBigUInt64BE(COPIED | BigInt(7 * CLUSTER), 40);
  const raw = Buffer.concat([a, b, Buffer.alloc(CLUSTER), Buffer.alloc(CLUSTER), c, d.subarray(0, 200)]);
  return { image: Buffer.concat(clusters), raw };
}

describe('qcow2 → raw (qcow2-util.c)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'importd-qcow2-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function convert(image: Buffer): Promise<Buffer> {
    writeFileSync(join(dir, 'in.qcow2'), image);
    const src = await open(join(dir, 'in.qcow2'), 'r');
    const dst = await open(join(dir, 'out.raw'), 'w+');
    try {
      await convertQcow2(src, dst);
    } finally {
      await src.close();
      await dst.close();
    }
    return readFileSync(join(dir, 'out.raw'));
  }

  async function refusal(image: Buffer): Promise<string> {
    try {
      await convert(image);
    } catch (e) {
      expect(e).to.be.instanceOf(Qcow2Error);
      return (e as Error).message;
    }
    throw new Error('converted an image that should have been refused');
  }

  it('places data, zero, unallocated, compressed and partial clusters at their guest offsets (v3)', async () => {
    const { image, raw } = buildImage(3);
    const out = await convert(image);
    expect(out.equals(raw)).to.equal(true);
  });

  it('converts version 2 images', async () => {
    const { image, raw } = buildImage(2);
    const v2 = Buffer.from(image);
    v2.fill(0, 72, 104); // no v3 fields
    expect((await convert(v2)).equals(raw)).to.equal(true);
  });

  it('parses the header fields', () => {
    const h = parseQcow2Header(header({ size: 1 << 20, l1Size: 32, l1Offset: 65536, clusterBits: 16 }));
    expect(h).to.include({ version: 3, clusterBits: 16, clusterSize: 65536, size: 1 << 20, l1Size: 32, l1TableOffset: 65536 });
  });

  it('refuses a backing file, naming it', async () => {
    const { image } = buildImage();
    image.writeBigUInt64BE(200n, 8);
    image.writeUInt32BE(8, 16);
    image.write('base.img', 200);
    expect(await refusal(image)).to.match(/has a backing file \('base\.img'\).*refusing it/);
  });

  it('refuses other versions, encryption, incompatible features and bad geometry with the reason', async () => {
    const cases: [Buffer, RegExp][] = [
      [header({ version: 1, size: 512, l1Size: 1, l1Offset: 512 }), /version 1 is not supported/],
      [header({ size: 512, l1Size: 1, l1Offset: 512, crypt: 1 }), /Encrypted/],
      [header({ size: 512, l1Size: 1, l1Offset: 512, incompatible: 2n }), /marked corrupt/],
      [header({ size: 512, l1Size: 1, l1Offset: 512, incompatible: 4n }), /external data file/],
      [header({ size: 512, l1Size: 1, l1Offset: 512, incompatible: 8n }), /compression type/],
      [header({ size: 512, l1Size: 1, l1Offset: 512, incompatible: 16n }), /extended L2/],
      [header({ size: 512, l1Size: 1, l1Offset: 512, clusterBits: 8 }), /cluster bits 8/],
      [header({ size: 512 * 64 * 2, l1Size: 1, l1Offset: 512 }), /cannot map/],
      [header({ size: 512, l1Size: 1, l1Offset: 100 }), /misaligned L1/],
    ];
    for (const [h, re] of cases) expect(() => parseQcow2Header(h)).to.throw(Qcow2Error, re);
    expect(() => parseQcow2Header(Buffer.from('QFI\xfb', 'latin1'))).to.throw(Qcow2Error, /truncated/);
  });

  it('fails on tables or clusters beyond the end of the file', async () => {
    const { image } = buildImage();
    expect(await refusal(image.subarray(0, 2 * CLUSTER))).to.match(/L2 table at offset 1024 lies beyond the end/);
    expect(await refusal(image.subarray(0, 4 * CLUSTER))).to.match(/data cluster at offset 1536 lies beyond the end/);
  });

  it('keeps the result sparse where the guest reads zeros', async () => {
    const big = header({ size: 64 * CLUSTER, l1Size: 1, l1Offset: CLUSTER });
    const image = Buffer.concat([big, Buffer.alloc(CLUSTER)]); // L1 entry 0: no L2 table
    const out = await convert(image);
    expect(out.length).to.equal(64 * CLUSTER);
    expect(out.every((x) => x === 0)).to.equal(true);
  });
});
