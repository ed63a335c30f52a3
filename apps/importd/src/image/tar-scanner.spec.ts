import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostileMemberError, TarScanner, unsafeMemberName } from './tar-scanner.js';

/** A minimal ustar header (checksums are not checked by the scanner). */
function header(name: string, type = '0', size = 0, link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0);
  h.write(size.toString(8).padStart(11, '0'), 124);
  h.write(type, 156);
  h.write(link, 157);
  h.write('ustar', 257);
  return h;
}

function data(bytes: number): Buffer {
  return Buffer.alloc(Math.ceil(bytes / 512) * 512, 0x61);
}

function scan(...parts: Buffer[]): TarScanner {
  const s = new TarScanner();
  const all = Buffer.concat([...parts, Buffer.alloc(1024)]);
  // Odd chunk sizes: headers and data split across chunks.
  for (let i = 0; i < all.length; i += 77) s.push(all.subarray(i, i + 77));
  return s;
}

describe('tar member scanner', () => {
  it('names unsafe member names', () => {
    expect(unsafeMemberName('etc/passwd')).to.equal(null);
    expect(unsafeMemberName('./etc/..data')).to.equal(null);
    expect(unsafeMemberName('/etc/passwd')).to.match(/absolute/);
    expect(unsafeMemberName('../evil')).to.match(/'\.\.'/);
    expect(unsafeMemberName('a/../../evil')).to.match(/'\.\.'/);
  });

  it('walks a real GNU tar archive with long names, links and data, finding nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scanner-'));
    try {
      const long = 'd'.repeat(120);
      mkdirSync(join(dir, 'tree', long), { recursive: true });
      writeFileSync(join(dir, 'tree', long, 'f'.repeat(150)), 'x'.repeat(3000));
      writeFileSync(join(dir, 'tree', 'small'), 'hello');
      symlinkSync('/etc/os-release', join(dir, 'tree', 'abs-link'));
      for (const format of ['gnu', 'pax', 'ustar']) {
        if (format === 'ustar') rmSync(join(dir, 'tree', long), { recursive: true });
        const tar = execFileSync('tar', ['-C', join(dir, 'tree'), `--format=${format}`, '-cf', '-', '.']);
        const s = new TarScanner();
        for (let i = 0; i < tar.length; i += 1000) s.push(tar.subarray(i, i + 1000));
        expect(s.members, format).to.be.greaterThan(2);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses ../ and absolute member names, in plain, GNU long-name and pax headers', () => {
    expect(() => scan(header('ok'), header('../evil', '0', 5), data(5))).to.throw(HostileMemberError, /'\.\.\/evil'/);
    expect(() => scan(header('/etc/cron.d/x', '0', 5), data(5))).to.throw(HostileMemberError, /absolute/);
    const longName = `${'a/'.repeat(60)}../../x`;
    expect(() => scan(header('././@LongLink', 'L', longName.length + 1), data(longName.length + 1).fill(0).fill(longName, 0, longName.length), header('short'))).to.throw(HostileMemberError);
    const rec = ' path=/abs/path\n';
    const paxRecord = `${rec.length + 2}${rec}`;
    const pax = Buffer.alloc(512);
    pax.write(paxRecord);
    expect(() => scan(header('PaxHeaders/x', 'x', paxRecord.length), pax, header('innocent', '0', 0))).to.throw(HostileMemberError, /\/abs\/path/);
  });

  it('refuses hard links to absolute or .. targets, and lets symlinks point anywhere', () => {
    expect(() => scan(header('passwd', '1', 0, '/etc/passwd'))).to.throw(HostileMemberError, /hard link/);
    expect(() => scan(header('x', '1', 0, '../../x'))).to.throw(HostileMemberError, /hard link/);
    expect(scan(header('sh', '2', 0, '/bin/busybox'), header('up', '2', 0, '../..')).members).to.equal(2);
  });

  it('skips member data that looks like a header', () => {
    const fake = header('/etc/shadow');
    expect(scan(header('file', '0', 512), fake, header('next')).members).to.equal(2);
  });

  it('refuses anything but zero padding after the end-of-archive block', () => {
    expect(scan(header('a', '0', 3), data(3)).members).to.equal(1);
    const s = new TarScanner();
    s.push(Buffer.concat([header('a'), Buffer.alloc(512)]));
    expect(() => s.push(Buffer.concat([Buffer.alloc(100), header('/hidden')]))).to.throw(HostileMemberError, /after the end-of-archive/);
    expect(() => new TarScanner().push(Buffer.concat([header('a'), Buffer.alloc(1024), Buffer.from('garbage')]))).to.throw(HostileMemberError);
  });
});
