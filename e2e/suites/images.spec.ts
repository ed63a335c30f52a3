/**
 * The image pool through Debian's real machinectl and busctl: a pool (the namespace's private
 * /var/lib/machines) with a directory image (busybox), a raw ext4 image made with mkfs.ext4 -d and
 * a hidden image, plus a second search directory. Listing, status and show; clone, rename,
 * read-only, remove and clean, each checked on disk; the refusals; changes made by hand and
 * importd's pool.changed notice; a clone cut short by SIGKILL of machined.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { channelEndpoint, encodeChannelMessage, imageObjectPath } from '@machined/protocol';
import {
  callManager,
  copyBusyboxRootfs,
  createMachine,
  errorOf,
  parseShowOutput,
  run,
  runAsNobody,
  spawnLeader,
  startMachined,
  testMachineName,
  trackPath,
  useStack,
  waitUntil,
} from '../support/index.js';

const POOL = '/var/lib/machines';
const INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs';
const UINT64_MAX = 18446744073709551615n;

/** Our images, by the names the suite gives them; all removed afterwards. */
const DIR = 'e2e-dir';
const RAW = 'e2e-raw';
const HIDDEN = '.e2e-hidden';

type ImageRow = [string, string, boolean, bigint, bigint, bigint, string];

/** Sets user.e2e and an ACL granting uid 4321 rw- (the xattr blob of `setfacl -m u:4321:rw`). */
const SET_XATTRS = `
import os, struct, sys
p = sys.argv[1]
os.setxattr(p, 'user.e2e', b'kept')
acl = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, perm, i) for t, perm, i in
    [(1, 6, 0xffffffff), (2, 6, 4321), (4, 4, 0xffffffff), (0x10, 6, 0xffffffff), (0x20, 4, 0xffffffff)])
os.setxattr(p, 'system.posix_acl_access', acl)
`;

/** Prints the xattrs of a file as name=hex lines, sorted. */
const GET_XATTRS = `
import os, sys
p = sys.argv[1]
for n in sorted(os.listxattr(p)):
    print(n + '=' + os.getxattr(p, n).hex())
`;

/** A GUID as GPT stores it: the first three fields little-endian. */
function guidBytes(guid: string): Buffer {
  const h = guid.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/**
 * Writes a GPT disk image (no sfdisk on the test host) with one partition of the given type from
 * sector `first` to the end of the usable area; returns that partition's byte offset and size.
 */
function writeGptImage(file: string, totalSectors: number, first: number, type: string): { offset: number; size: number } {
  const disk = Buffer.alloc(totalSectors * 512);
  const last = totalSectors - 34;
  // Protective MBR.
  const mbr = disk.subarray(0, 512);
  mbr[446 + 4] = 0xee;
  mbr.writeUInt32LE(1, 446 + 8);
  mbr.writeUInt32LE(totalSectors - 1, 446 + 12);
  mbr.writeUInt16LE(0xaa55, 510);
  const entries = Buffer.alloc(128 * 128);
  guidBytes(type).copy(entries, 0);
  guidBytes('6e0b2c4a-2f1d-4c43-9d35-6d8b0e6c1a01').copy(entries, 16);
  entries.writeBigUInt64LE(BigInt(first), 32);
  entries.writeBigUInt64LE(BigInt(last), 40);
  Buffer.from('root', 'utf16le').copy(entries, 56);
  const header = (self: number, backup: number, entriesAt: number) => {
    const h = Buffer.alloc(92);
    h.write('EFI PART', 0, 'latin1');
    h.writeUInt32LE(0x00010000, 8);
    h.writeUInt32LE(92, 12);
    h.writeBigUInt64LE(BigInt(self), 24);
    h.writeBigUInt64LE(BigInt(backup), 32);
    h.writeBigUInt64LE(34n, 40);
    h.writeBigUInt64LE(BigInt(last), 48);
    guidBytes('0b9e7a52-7e2b-4f6a-8d5e-2f1c3b4a5d6e').copy(h, 56);
    h.writeBigUInt64LE(BigInt(entriesAt), 72);
    h.writeUInt32LE(128, 80);
    h.writeUInt32LE(128, 84);
    h.writeUInt32LE(crc32(entries), 88);
    h.writeUInt32LE(crc32(h), 16);
    return h;
  };
  header(1, totalSectors - 1, 2).copy(disk, 512);
  entries.copy(disk, 2 * 512);
  entries.copy(disk, (totalSectors - 33) * 512);
  header(totalSectors - 1, 1, totalSectors - 33).copy(disk, (totalSectors - 1) * 512);
  writeFileSync(file, disk);
  return { offset: first * 512, size: (last - first + 1) * 512 };
}

function unlinkQuietly(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // not there
  }
}

function unlock(p: string): void {
  try {
    execFileSync('chattr', ['-i', '--', p], { stdio: 'ignore' });
  } catch {
    // not immutable, or gone
  }
}

function removeOurImages(): void {
  for (const e of readdirSync(POOL)) {
    if (!e.startsWith('e2e-') && !e.startsWith('.e2e-') && !e.startsWith('.#')) continue;
    unlock(join(POOL, e));
    rmSync(join(POOL, e), { recursive: true, force: true });
  }
}

describe('image pool', function () {
  this.timeout(120000);
  // A second search directory after the pool: its images are listed, the pool wins a name clash.
  // Made in a hook, not at load time: harness.spec.ts runs cleanupAll() before this suite starts.
  const extraDir = join(tmpdir(), `machined-e2e-images-${process.pid}`);
  const searchArgs = ['--image-search-path', `${POOL}:${extraDir}`];
  before(() => {
    mkdirSync(extraDir, { recursive: true });
    trackPath(extraDir);
  });
  const stack = useStack({ extraArgs: searchArgs });
  const env = () => ({ DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0' });
  const machinectl = (...args: string[]) => run('machinectl', ['--no-pager', '--no-ask-password', ...args], { env: env(), timeoutMs: 60000 });
  const listImages = async () => ((await callManager(stack.client, 'ListImages', []))[0] as ImageRow[]);
  const imageNames = async () => (await listImages()).map((r) => r[0]);
  let linkTarget = '';

  before(async () => {
    removeOurImages();
    // The directory image: busybox with identity files, one an absolute symlink that must
    // resolve inside the image (the host's /usr/lib/os-release says Debian).
    const dir = await copyBusyboxRootfs(join(POOL, DIR));
    unlinkQuietly(join(dir, 'etc/os-release'));
    unlinkQuietly(join(dir, 'usr/lib/os-release'));
    mkdirSync(join(dir, 'usr/lib'), { recursive: true });
    writeFileSync(join(dir, 'usr/lib/os-release'), 'ID=e2edir\nPRETTY_NAME="E2E Directory OS"\n');
    symlinkSync('/usr/lib/os-release', join(dir, 'etc/os-release'));
    writeFileSync(join(dir, 'etc/hostname'), 'dirhost\n');
    writeFileSync(join(dir, 'machine-id-inside'), '0123456789abcdef0123456789abcdef\n');
    unlinkQuietly(join(dir, 'etc/machine-id'));
    // `..` may not climb out of the image: this resolves to the image's own /machine-id-inside.
    symlinkSync('../../../../../../machine-id-inside', join(dir, 'etc/machine-id'));
    writeFileSync(join(dir, 'etc/machine-info'), 'PRETTY_HOSTNAME="Dir Box"\nDEPLOYMENT=test\n');
    // What a clone must keep: a device node, a hard link, foreign ownership, an xattr and an ACL.
    execFileSync('mknod', ['-m', '666', join(dir, 'dev/null'), 'c', '1', '3']);
    writeFileSync(join(dir, 'etc/hl-a'), 'linked\n');
    linkSync(join(dir, 'etc/hl-a'), join(dir, 'etc/hl-b'));
    writeFileSync(join(dir, 'etc/owned'), 'owned\n');
    chownSync(join(dir, 'etc/owned'), 1234, 5678);
    execFileSync('/usr/bin/python3', ['-c', SET_XATTRS, join(dir, 'etc/owned')]);

    // The raw image: a small ext4 file system with identity files.
    const src = mkdtempSync(join(tmpdir(), 'machined-e2e-rawsrc-'));
    trackPath(src);
    mkdirSync(join(src, 'etc'));
    writeFileSync(join(src, 'etc/os-release'), 'ID=e2eraw\nPRETTY_NAME="E2E Raw OS"\nVERSION_ID=1\n');
    writeFileSync(join(src, 'etc/hostname'), 'rawhost\n');
    writeFileSync(join(src, 'etc/machine-id'), 'fedcba9876543210fedcba9876543210\n');
    const raw = join(POOL, `${RAW}.raw`);
    execFileSync('truncate', ['-s', '8M', raw]);
    execFileSync('mkfs.ext4', ['-q', '-d', src, raw]);

    // A hidden image, and one in the second search directory that the pool's own shadows.
    mkdirSync(join(POOL, HIDDEN));
    mkdirSync(join(extraDir, DIR));
    mkdirSync(join(extraDir, 'e2e-extra'));
    // For the pool.changed test: a link whose target appears later, where no watch can see it.
    linkTarget = join(trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-target-'))), 'tree');
    symlinkSync(linkTarget, join(POOL, 'e2e-linked'));
    await waitUntil(async () => (await imageNames()).includes(HIDDEN), 'the images to be listed');
  });

  after(() => removeOurImages());

  describe('discovery and inspection', () => {
    it('ListImages reports every image with its type, flags and object path; the pool wins a clash', async () => {
      const rows = new Map((await listImages()).map((r) => [r[0], r]));
      const dir = rows.get(DIR)!;
      expect(dir.slice(0, 3)).to.deep.equal([DIR, 'directory', false]);
      expect(dir[4]).to.equal(0n); // upstream: a directory's mtime says nothing about its tree
      expect(dir[5]).to.equal(UINT64_MAX);
      expect(dir[6]).to.equal(imageObjectPath(DIR));
      const raw = rows.get(RAW)!;
      expect(raw.slice(0, 3)).to.deep.equal([RAW, 'raw', false]);
      const st = statSync(join(POOL, `${RAW}.raw`), { bigint: true });
      expect(raw[4]).to.equal(st.mtimeNs / 1000n);
      expect(raw[5]).to.equal(st.blocks * 512n);
      expect(rows.get(HIDDEN)?.[1]).to.equal('directory');
      expect(rows.get('.host')?.slice(0, 3)).to.deep.equal(['.host', 'directory', true]);
      expect(rows.get('e2e-extra')?.[1]).to.equal('directory');
      const [path] = await callManager(stack.client, 'GetImage', [DIR]);
      const [p] = await stack.client.call('org.freedesktop.machine1', path as string, 'org.freedesktop.DBus.Properties', 'Get', 'ss', ['org.freedesktop.machine1.Image', 'Path']);
      expect((p as { value: string }).value).to.equal(join(POOL, DIR));
    });

    it('machinectl list-images hides hidden images and .host unless --all', async () => {
      const r = await machinectl('list-images');
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^NAME\s+TYPE\s+RO\s+USAGE\s+CREATED\s+MODIFIED\s*$/m);
      expect(r.stdout).to.match(new RegExp(`^${DIR}\\s+directory\\s+no\\s`, 'm'));
      expect(r.stdout).to.match(new RegExp(`^${RAW}\\s+raw\\s+no\\s+\\S+\\s+\\w{3} \\d{4}-\\d\\d-\\d\\d `, 'm'));
      expect(r.stdout).not.to.contain(HIDDEN);
      expect(r.stdout).not.to.contain('.host');
      expect(r.stdout).to.match(/^\d+ images listed\.$/m);
      const all = await machinectl('list-images', '--all');
      expect(all.stdout).to.match(new RegExp(`^\\${HIDDEN}\\s+directory\\s+no`, 'm'));
      expect(all.stdout).to.match(/^\.host\s+directory\s+yes/m);
    });

    it('image-status shows type, path, host name, OS and machine ID read inside a directory image', async () => {
      const r = await machinectl('image-status', DIR);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/Type: directory/);
      expect(r.stdout).to.contain(`Path: ${join(POOL, DIR)}`);
      expect(r.stdout).to.contain('Hostname: dirhost');
      expect(r.stdout).to.contain('OS: E2E Directory OS');
      expect(r.stdout).to.contain('Machine ID: 0123456789abcdef0123456789abcdef');
      expect(r.stdout).to.contain('RO: writable');
      const info = await callManager(stack.client, 'GetImageMachineInfo', [DIR]);
      expect(info[0]).to.deep.equal({ PRETTY_HOSTNAME: 'Dir Box', DEPLOYMENT: 'test' });
    });

    it('image-status reads the raw image from its file system, mounted only for the read', async () => {
      const r = await machinectl('image-status', RAW);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/Type: raw/);
      expect(r.stdout).to.contain(`Path: ${join(POOL, `${RAW}.raw`)}`);
      expect(r.stdout).to.contain('Hostname: rawhost');
      expect(r.stdout).to.contain('OS: E2E Raw OS');
      expect(r.stdout).to.contain('Machine ID: fedcba9876543210fedcba9876543210');
      const [osr] = await callManager(stack.client, 'GetImageOSRelease', [RAW]);
      expect(osr).to.deep.equal({ ID: 'e2eraw', PRETTY_NAME: 'E2E Raw OS', VERSION_ID: '1' });
      // Nothing of it stays mounted, in any namespace we can see.
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.to.contain('machined-image-');
      // The loop device is auto-cleared once the namespace holding the mount is gone.
      await waitUntil(async () => (await run('losetup', ['-j', join(POOL, `${RAW}.raw`)])).stdout.trim() === '', 'the loop device to be released');
    });

    it('reads a partitioned (GPT) raw image from its root partition', async () => {
      const src = trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-gptsrc-')));
      mkdirSync(join(src, 'etc'));
      writeFileSync(join(src, 'etc/os-release'), 'ID=e2egpt\nPRETTY_NAME="E2E GPT OS"\n');
      writeFileSync(join(src, 'etc/hostname'), 'gpthost\n');
      const file = join(POOL, 'e2e-gpt.raw');
      const part = writeGptImage(file, 24 * 2048, 2048, '4f68bce3-e8cd-4db1-96e7-fbcaf984b709');
      execFileSync('mkfs.ext4', ['-q', '-E', `offset=${part.offset}`, '-d', src, file, `${Math.floor(part.size / 1024)}k`]);
      await waitUntil(async () => (await imageNames()).includes('e2e-gpt'), 'the GPT image');
      const r = await machinectl('image-status', 'e2e-gpt');
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.contain('Hostname: gpthost');
      expect(r.stdout).to.contain('OS: E2E GPT OS');
      rmSync(file);
    });

    it('lists a block device linked into the pool as a block image with its size, and reads it', async () => {
      const loop = execFileSync('losetup', ['--find', '--show', '--read-only', join(POOL, `${RAW}.raw`)], { encoding: 'utf8' }).trim();
      try {
        symlinkSync(loop, join(POOL, 'e2e-blk'));
        const row = await waitUntil(async () => (await listImages()).find((i) => i[0] === 'e2e-blk'), 'the block image');
        expect(row.slice(0, 3)).to.deep.equal(['e2e-blk', 'block', true]);
        expect(row[5]).to.equal(8n * 1024n * 1024n);
        const [os] = await callManager(stack.client, 'GetImageOSRelease', ['e2e-blk']);
        expect(os).to.include({ ID: 'e2eraw' });
        rmSync(join(POOL, 'e2e-blk'));
      } finally {
        execFileSync('losetup', ['-d', loop]);
      }
    });

    it('an image on a read-only file system is read-only, and cannot be removed', async () => {
      const rofs = join(extraDir, 'e2e-rofs');
      mkdirSync(rofs);
      execFileSync('mount', ['--bind', rofs, rofs]);
      try {
        execFileSync('mount', ['-o', 'remount,bind,ro', rofs]);
        const row = await waitUntil(async () => (await listImages()).find((i) => i[0] === 'e2e-rofs'), 'the image');
        expect(row[2]).to.equal(true);
        expect((await errorOf(callManager(stack.client, 'RemoveImage', ['e2e-rofs']))).name).to.equal('System.Error.EROFS');
      } finally {
        execFileSync('umount', [rofs]);
      }
      rmSync(rofs, { recursive: true });
    });

    it('show-image prints every property of the image object', async () => {
      const r = await machinectl('show-image', RAW);
      expect(r.code, r.stderr).to.equal(0);
      const p = parseShowOutput(r.stdout);
      const st = statSync(join(POOL, `${RAW}.raw`));
      expect(p).to.include({ Name: RAW, Path: join(POOL, `${RAW}.raw`), Type: 'raw', ReadOnly: 'no', Usage: String(st.blocks * 512), Limit: String(st.size) });
      expect(p).to.include({ UsageExclusive: String(st.blocks * 512), LimitExclusive: String(st.size) });
      expect(p.ModificationTimestamp).to.match(/^\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
      const d = parseShowOutput((await machinectl('show-image', DIR)).stdout);
      expect(d).to.include({ Name: DIR, Path: join(POOL, DIR), Type: 'directory', ReadOnly: 'no' });
    });

    it('GetImage of an unknown or invalid name is NoSuchImage', async () => {
      for (const name of ['e2e-nosuch', '../etc', 'a/b']) {
        expect(await errorOf(callManager(stack.client, 'GetImage', [name]))).to.deep.equal({
          name: 'org.freedesktop.machine1.NoSuchImage',
          message: `No image '${name}' known`,
        });
      }
      const r = await machinectl('image-status', 'e2e-nosuch');
      expect(r.code).to.equal(1);
    });
  });

  describe('changes', () => {
    it('clone copies a directory image (ownership, modes, links) and its settings file under the new name', async () => {
      writeFileSync(join(POOL, `${DIR}.nspawn`), '[Exec]\nBoot=no\n');
      const r = await machinectl('clone', DIR, 'e2e-clone');
      expect(readFileSync(join(POOL, 'e2e-clone.nspawn'), 'utf8')).to.equal('[Exec]\nBoot=no\n');
      expect(r.code, r.stderr).to.equal(0);
      const a = join(POOL, DIR);
      const b = join(POOL, 'e2e-clone');
      expect(readFileSync(join(b, 'etc/hostname'), 'utf8')).to.equal('dirhost\n');
      expect(statSync(join(b, 'bin/busybox')).mode).to.equal(statSync(join(a, 'bin/busybox')).mode);
      const dev = statSync(join(b, 'dev/null'));
      expect(dev.isCharacterDevice()).to.equal(true);
      expect(dev.rdev).to.equal(statSync(join(a, 'dev/null')).rdev);
      expect(statSync(join(b, 'etc/hl-a')).ino).to.equal(statSync(join(b, 'etc/hl-b')).ino);
      expect(statSync(join(b, 'etc/owned'))).to.include({ uid: 1234, gid: 5678 });
      const xattrs = (f: string) => execFileSync('/usr/bin/python3', ['-c', GET_XATTRS, f], { encoding: 'utf8' });
      const kept = xattrs(join(b, 'etc/owned'));
      expect(kept).to.contain('user.e2e=6b657074');
      expect(kept).to.contain('system.posix_acl_access=');
      expect(kept).to.equal(xattrs(join(a, 'etc/owned')));
      const diff = await run('diff', ['-r', '--no-dereference', '--exclude=null', a, b]); // diff cannot compare device nodes
      expect(diff.code, diff.stdout + diff.stderr).to.equal(0);
      expect(await imageNames()).to.include('e2e-clone');
      expect(readdirSync(POOL).filter((e) => e.startsWith('.#'))).to.deep.equal([]);
    });

    it('read-only sets and clears the immutable flag; a read-only image may be cloned but not removed or renamed', async () => {
      expect((await machinectl('read-only', 'e2e-clone')).code).to.equal(0);
      const attrs = await run('lsattr', ['-d', join(POOL, 'e2e-clone')]);
      expect(attrs.stdout.split(' ')[0]).to.contain('i');
      expect(parseShowOutput((await machinectl('show-image', 'e2e-clone')).stdout).ReadOnly).to.equal('yes');

      const clone = await machinectl('clone', 'e2e-clone', 'e2e-clone2');
      expect(clone.code, clone.stderr).to.equal(0);
      expect(existsSync(join(POOL, 'e2e-clone2/etc/hostname'))).to.equal(true);
      expect(parseShowOutput((await machinectl('show-image', 'e2e-clone2')).stdout).ReadOnly).to.equal('no');

      const rm = await machinectl('remove', 'e2e-clone');
      expect(rm.code).to.equal(1);
      expect(rm.stderr).to.contain("Image 'e2e-clone' is read-only.");
      expect(existsSync(join(POOL, 'e2e-clone'))).to.equal(true);
      const mv = await machinectl('rename', 'e2e-clone', 'e2e-moved');
      expect(mv.code).to.equal(1);
      expect(existsSync(join(POOL, 'e2e-moved'))).to.equal(false);

      expect((await machinectl('read-only', 'e2e-clone', 'no')).code).to.equal(0);
      expect((await run('lsattr', ['-d', join(POOL, 'e2e-clone')])).stdout.split(' ')[0]).not.to.contain('i');
      expect(parseShowOutput((await machinectl('show-image', 'e2e-clone')).stdout).ReadOnly).to.equal('no');
    });

    it('clones a raw image read-only: a file without write permission', async () => {
      const r = await machinectl('clone', '--read-only', RAW, 'e2e-rawclone');
      expect(r.code, r.stderr).to.equal(0);
      const st = statSync(join(POOL, 'e2e-rawclone.raw'));
      expect(st.mode & 0o222).to.equal(0);
      expect(parseShowOutput((await machinectl('show-image', 'e2e-rawclone')).stdout)).to.include({ Type: 'raw', ReadOnly: 'yes' });
      expect((await machinectl('read-only', 'e2e-rawclone', 'no')).code).to.equal(0);
      expect(statSync(join(POOL, 'e2e-rawclone.raw')).mode & 0o200).to.equal(0o200);
    });

    it('rename moves the image on disk and refuses an existing name', async () => {
      const clash = await machinectl('rename', 'e2e-clone2', RAW);
      expect(clash.code).to.equal(1);
      expect(clash.stderr).to.contain(`Image '${RAW}' already exists.`);
      const r = await machinectl('rename', 'e2e-clone2', 'e2e-renamed');
      expect(r.code, r.stderr).to.equal(0);
      // The settings file came with each clone and follows the rename.
      expect(existsSync(join(POOL, 'e2e-clone2.nspawn'))).to.equal(false);
      expect(existsSync(join(POOL, 'e2e-renamed.nspawn'))).to.equal(true);
      expect(existsSync(join(POOL, 'e2e-clone2'))).to.equal(false);
      expect(existsSync(join(POOL, 'e2e-renamed/etc/hostname'))).to.equal(true);
      const names = await imageNames();
      expect(names).to.include('e2e-renamed');
      expect(names).not.to.include('e2e-clone2');
      const rr = await machinectl('rename', 'e2e-rawclone', 'e2e-rawrenamed');
      expect(rr.code, rr.stderr).to.equal(0);
      expect(existsSync(join(POOL, 'e2e-rawrenamed.raw'))).to.equal(true);
    });

    it('remove deletes directory and raw images from disk', async () => {
      expect((await machinectl('remove', 'e2e-renamed', 'e2e-rawrenamed')).code).to.equal(0);
      expect(existsSync(join(POOL, 'e2e-renamed'))).to.equal(false);
      expect(existsSync(join(POOL, 'e2e-rawrenamed.raw'))).to.equal(false);
      expect(existsSync(join(POOL, 'e2e-renamed.nspawn'))).to.equal(false);
      const names = await imageNames();
      expect(names).not.to.include('e2e-renamed');
      expect(names).not.to.include('e2e-rawrenamed');
    });

    it('clean removes hidden images only, and --all everything removable', async () => {
      const r = await machinectl('clean');
      expect(r.code, r.stderr).to.equal(0);
      // machinectl logs what it removed on stderr; usage of a directory is unknown off btrfs.
      expect(r.stderr).to.contain(`Removed image '${HIDDEN}'\nRemoved 1 images in total.\n`);
      expect(existsSync(join(POOL, HIDDEN))).to.equal(false);
      expect(existsSync(join(POOL, DIR))).to.equal(true);
      // --all spares read-only images (and the host); only e2e-clone goes here, kept writable by now.
      expect((await machinectl('read-only', DIR)).code).to.equal(0);
      expect((await machinectl('read-only', RAW)).code).to.equal(0);
      const all = await machinectl('clean', '--all');
      expect(all.code, all.stderr).to.equal(0);
      expect(all.stderr).to.contain("Removed image 'e2e-clone'");
      expect(existsSync(join(POOL, 'e2e-clone'))).to.equal(false);
      expect(existsSync(join(POOL, DIR))).to.equal(true);
      expect(existsSync(join(POOL, `${RAW}.raw`))).to.equal(true);
      expect((await machinectl('read-only', DIR, 'no')).code).to.equal(0);
      expect((await machinectl('read-only', RAW, 'no')).code).to.equal(0);
      const [rows] = await callManager(stack.client, 'CleanPool', ['hidden']);
      expect(rows).to.deep.equal([]);
    });

    it('set-limit is NotSupported off btrfs, for an image and for the pool', async () => {
      for (const args of [['set-limit', DIR, '1G'], ['set-limit', '1G']]) {
        const r = await machinectl(...args);
        expect(r.code).to.equal(1);
        expect(r.stderr).to.contain('Quota is only supported on btrfs.');
      }
      const err = await errorOf(callManager(stack.client, 'SetImageLimit', [DIR, 1n << 63n]));
      expect(err).to.deep.equal({ name: INVALID_ARGS, message: 'New limit out of range' });
    });
  });

  describe('refusals', () => {
    it('refuses names with .. or / and unknown clean modes', async () => {
      expect(await errorOf(callManager(stack.client, 'RemoveImage', ['../etc']))).to.deep.equal({ name: INVALID_ARGS, message: "Image name '../etc' is invalid." });
      expect(await errorOf(callManager(stack.client, 'CloneImage', [DIR, '..', false]))).to.deep.equal({ name: INVALID_ARGS, message: "Image name '..' is invalid." });
      expect(await errorOf(callManager(stack.client, 'RenameImage', [DIR, 'a/b']))).to.deep.equal({ name: INVALID_ARGS, message: "Image name 'a/b' is invalid." });
      const r = await machinectl('rename', DIR, '../evil');
      expect(r.code).to.equal(1);
      expect(existsSync('/var/lib/evil')).to.equal(false);
      expect(await errorOf(callManager(stack.client, 'CleanPool', ['some']))).to.deep.equal({ name: INVALID_ARGS, message: "Unknown mode 'some'." });
      expect(existsSync(join(POOL, DIR))).to.equal(true);
    });

    it('refuses to change .host', async () => {
      const err = await errorOf(callManager(stack.client, 'RemoveImage', ['.host']));
      expect(err.name).to.equal('System.Error.EROFS');
    });

    it('refuses to remove or rename an image a running machine uses', async () => {
      const leader = await spawnLeader();
      const name = testMachineName('img');
      await createMachine(stack.client, name, leader.pid!, { rootDirectory: join(POOL, DIR) });
      const rm = await machinectl('remove', DIR);
      expect(rm.code).to.equal(1);
      expect(rm.stderr).to.contain(`Image '${DIR}' is in use by running machine '${name}'.`);
      const mv = await errorOf(callManager(stack.client, 'RenameImage', [DIR, 'e2e-other']));
      expect(mv.name).to.equal('System.Error.EBUSY');
      expect(existsSync(join(POOL, DIR))).to.equal(true);
      // Cloning an image in use is fine.
      expect((await machinectl('clone', DIR, 'e2e-while-used')).code).to.equal(0);
      leader.kill('SIGKILL');
      await waitUntil(async () => {
        const [machines] = await callManager(stack.client, 'ListMachines', []);
        return !(machines as Array<[string]>).some((m) => m[0] === name);
      }, 'the machine to go');
      expect((await machinectl('remove', 'e2e-while-used')).code).to.equal(0);
    });

    it('refuses every change from nobody (AccessDenied) and changes nothing', async () => {
      const busctl = (member: string, sig: string, ...args: string[]) =>
        runAsNobody('busctl', ['--address', stack.bus.address, 'call', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', member, sig, ...args]);
      const list = await busctl('ListImages', '');
      expect(list.code, list.stderr).to.equal(0);
      expect(list.stdout).to.contain(`"${DIR}"`);
      const attempts = [
        await busctl('RemoveImage', 's', DIR),
        await busctl('RenameImage', 'ss', DIR, 'e2e-nobody'),
        await busctl('CloneImage', 'ssb', DIR, 'e2e-nobody', 'false'),
        await busctl('MarkImageReadOnly', 'sb', DIR, 'true'),
        await busctl('CleanPool', 's', 'all'),
      ];
      for (const r of attempts) {
        expect(r.code).to.equal(1);
        expect(r.stderr).to.match(/Access denied/i);
      }
      const rm = await runAsNobody('machinectl', ['--no-ask-password', 'remove', DIR], { env: env() });
      expect(rm.code).to.equal(1);
      expect(existsSync(join(POOL, DIR))).to.equal(true);
      expect(existsSync(join(POOL, 'e2e-nobody'))).to.equal(false);
      expect(parseShowOutput((await machinectl('show-image', DIR)).stdout).ReadOnly).to.equal('no');
    });
  });

  describe('changes on disk', () => {
    it('an image copied in by hand is listed, and disappears once deleted by hand', async () => {
      await copyBusyboxRootfs(join(POOL, 'e2e-byhand'));
      await waitUntil(async () => (await imageNames()).includes('e2e-byhand'), 'the copied image to be listed');
      rmSync(join(POOL, 'e2e-byhand'), { recursive: true });
      await waitUntil(async () => !(await imageNames()).includes('e2e-byhand'), 'the deleted image to go');
    });

    it('rescans on a pool.changed notice from importd over the internal channel', async () => {
      // The dangling link `e2e-linked` (made in before(), long since scanned) points outside every
      // watched directory: making its target appear changes nothing the watches can see, so only
      // the notice can reveal the image.
      expect(await imageNames()).not.to.include('e2e-linked');
      mkdirSync(linkTarget);
      expect(await imageNames()).not.to.include('e2e-linked');
      const push = new zmq.Push();
      push.linger = 0;
      push.connect(channelEndpoint(stack.machined.runtimeDir, 'notices'));
      try {
        await push.send(encodeChannelMessage({ v: 1, type: 'pool.changed', image: 'e2e-linked' }));
        await waitUntil(async () => (await imageNames()).includes('e2e-linked'), 'the notice to reveal the image');
      } finally {
        push.close();
      }
      rmSync(join(POOL, 'e2e-linked'));
    });

    it('a clone cut short by SIGKILL of machined leaves no image, and its temporary goes at the next start', async () => {
      // Many small files: slow enough to catch the copy in the middle.
      const big = join(POOL, 'e2e-big');
      mkdirSync(big);
      for (let d = 0; d < 60; d++) {
        mkdirSync(join(big, `d${d}`));
        for (let f = 0; f < 500; f++) writeFileSync(join(big, `d${d}`, `f${f}`), `${d}/${f}\n`);
      }
      await waitUntil(async () => (await imageNames()).includes('e2e-big'), 'the big image');
      const cloning = callManager(stack.client, 'CloneImage', ['e2e-big', 'e2e-bigclone', false]).catch(() => 'cut');
      await waitUntil(() => readdirSync(POOL).some((e) => e.startsWith('.#clone-')), 'the temporary copy to appear', 30000);
      // The copy runs beside the event loop: other calls are answered meanwhile.
      expect((await imageNames()).filter((n) => n.startsWith('e2e-big'))).to.deep.equal(['e2e-big']);
      expect(await callManager(stack.client, 'GetImage', ['e2e-big'])).to.deep.equal([imageObjectPath('e2e-big')]);
      await stack.machined.kill9();
      expect(await cloning).to.equal('cut');
      expect(readdirSync(POOL).some((e) => e.startsWith('.#clone-'))).to.equal(true);
      expect(existsSync(join(POOL, 'e2e-bigclone'))).to.equal(false);

      stack.machined = await startMachined({ busAddress: stack.bus.address, extraArgs: searchArgs });
      const names = await imageNames();
      expect(names).to.include('e2e-big');
      expect(names).not.to.include('e2e-bigclone');
      expect(names.some((n) => n.startsWith('.#'))).to.equal(false);
      // The stale copy is deleted in the background once machined serves again (30 000 files take a while).
      await waitUntil(() => readdirSync(POOL).filter((e) => e.startsWith('.#')).length === 0, 'the stale temporary to be removed', 30000);
      expect(stack.machined.logs().join('\n')).to.match(/left over from an interrupted operation/);
    });
  });
});
