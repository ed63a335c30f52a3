import { expect } from 'chai';
import { compressCommand, decompressCommand, detectCompression, isQcow2 } from './compression.js';

describe('compression detection', () => {
  const b = (...bytes: number[]) => Buffer.from(bytes);

  it('recognizes xz, gzip, bzip2 and zstd from their magic bytes', () => {
    expect(detectCompression(b(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1))).to.equal('xz');
    expect(detectCompression(b(0x1f, 0x8b, 8, 0))).to.equal('gzip');
    expect(detectCompression(Buffer.from('BZh91AY'))).to.equal('bzip2');
    expect(detectCompression(b(0x28, 0xb5, 0x2f, 0xfd, 0x24))).to.equal('zstd');
  });

  it('takes anything else, a tar header or an empty stream, as uncompressed', () => {
    const tarHeader = Buffer.alloc(512);
    tarHeader.write('etc/', 0);
    tarHeader.write('ustar', 257);
    expect(detectCompression(tarHeader)).to.equal('uncompressed');
    expect(detectCompression(Buffer.alloc(0))).to.equal('uncompressed');
  });

  it('does not mistake a prefix of a magic for the magic', () => {
    expect(detectCompression(b(0xfd, 0x37, 0x7a))).to.equal('uncompressed');
    expect(detectCompression(b(0x28, 0xb5))).to.equal('uncompressed');
  });

  it('recognizes qcow2 images', () => {
    expect(isQcow2(Buffer.from('QFI\xfb\0\0\0\x03', 'latin1'))).to.equal(true);
    expect(isQcow2(Buffer.from('QFI'))).to.equal(false);
  });

  it('pairs every compression with a tool, and uncompressed with none', () => {
    expect(decompressCommand('uncompressed')).to.equal(null);
    expect(decompressCommand('xz')).to.deep.equal(['xz', ['-dc']]);
    expect(decompressCommand('zstd')![0]).to.equal('zstd');
    expect(compressCommand('uncompressed')).to.equal(null);
    expect(compressCommand('gzip')).to.deep.equal(['gzip', ['-c']]);
    expect(compressCommand('bzip2')![0]).to.equal('bzip2');
  });
});
