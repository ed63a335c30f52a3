/**
 * importd driven by Debian's real machinectl 252: import-tar, import-raw, import-fs, export-tar,
 * list-transfers, cancel-transfer and pull-tar / pull-raw from a loopback HTTP server, with the
 * images compared entry by entry (ownership, modes, xattrs, device nodes, symlinks, hard links)
 * and every transfer ending in exactly one TransferRemoved. Runs inside run-in-namespace.sh, where
 * /var/lib/machines is a private tmpfs.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfs, errorOf, run, spawnNspawn, testMachineName, track, trackPath, waitUntil } from '../support/index.js';
import { startHttpFixture, type HttpFixture } from '../support/http-fixture.js';
import { makeRichTree, treeManifest } from '../support/image-trees.js';
import { enqueuedId, removedSignals, useImportStack } from '../support/importd-process.js';

const POOL = '/var/lib/machines';
const IMPORT1 = 'org.freedesktop.import1';
const MANAGER = 'org.freedesktop.import1.Manager';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function sh(cmd: string): Promise<void> {
  const r = await run('bash', ['-euo', 'pipefail', '-c', cmd], { timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

function temporaries(): string[] {
  return readdirSync(POOL).filter((e) => e.startsWith('.#'));
}

describe('importd with real machinectl: import, export, pull', function () {
  const s = useImportStack();
  let work: string;
  let rootfs: string;
  let web: HttpFixture;

  before(async () => {
    work = trackPath(mkdtempSync(join(tmpdir(), 'importd-e2e-')));
    chmodSync(work, 0o755);
    rootfs = await busyboxRootfs();
    await sh(`tar -C ${rootfs} --numeric-owner -cf ${work}/busybox.tar .`);
    await sh(`cd ${work} && xz -kc busybox.tar > busybox.tar.xz && gzip -kc busybox.tar > busybox.tar.gz && bzip2 -kc busybox.tar > busybox.tar.bz2 && zstd -qc busybox.tar > busybox.tar.zst`);
    writeFileSync(join(work, 'disk.raw'), randomBytes(3 << 20));
    await sh(`cd ${work} && xz -kc disk.raw > disk.raw.xz`);
    web = await startHttpFixture();
    const names = ['busybox.tar', 'busybox.tar.xz', 'busybox.tar.gz', 'busybox.tar.bz2', 'busybox.tar.zst', 'disk.raw.xz'];
    const sums: string[] = [];
    for (const n of names) {
      const body = readFileSync(join(work, n));
      web.routes.set(`/img/${n}`, body);
      sums.push(`${sha256(body)}  ${n}`);
    }
    web.routes.set('/img/SHA256SUMS', sums.join('\n') + '\n');
  });
  after(async () => {
    await web?.close();
  });

  async function expectDone(r: Awaited<ReturnType<typeof s.machinectl>>): Promise<number> {
    const id = enqueuedId(r);
    expect(r.code, r.stderr).to.equal(0);
    expect(await removedSignals(s, id)).to.deep.equal(['done']);
    expect(temporaries()).to.deep.equal([]);
    return id;
  }

  it('imports a tar.xz with import-tar: TransferNew, then exactly one TransferRemoved "done", and the tree intact', async () => {
    const r = await s.machinectl(['import-tar', join(work, 'busybox.tar.xz'), 'imp-tar']);
    const id = await expectDone(r);
    expect(s.transferNew.signals.filter((m) => m.body[0] === id)).to.have.length(1);
    expect(s.transferNew.signals.find((m) => m.body[0] === id)!.body[1]).to.equal(`/org/freedesktop/import1/transfer/_${id}`);
    expect(r.stderr).to.contain('Operation completed successfully.');
    expect(await treeManifest(join(POOL, 'imp-tar'))).to.deep.equal(await treeManifest(rootfs));
  });

  it('imports every compression, detected from content (a .tar.xz name over gzip data too)', async () => {
    for (const ext of ['tar', 'tar.gz', 'tar.bz2', 'tar.zst']) {
      const name = `imp-c-${ext.replace(/\./g, '-')}`;
      await expectDone(await s.machinectl(['import-tar', join(work, `busybox.${ext}`), name]));
      expect(readFileSync(join(POOL, name, 'etc/os-release'), 'utf8')).to.equal(readFileSync(join(rootfs, 'etc/os-release'), 'utf8'));
    }
    await sh(`cp ${work}/busybox.tar.gz ${work}/misnamed.tar.xz`);
    await expectDone(await s.machinectl(['import-tar', join(work, 'misnamed.tar.xz'), 'imp-misnamed']));
    expect(existsSync(join(POOL, 'imp-misnamed/bin/busybox'))).to.equal(true);
  });

  it('uses a single top-level directory holding the OS tree as the root, for import and pull (systemd#17563)', async () => {
    // Member names and hard link targets get the prefix, symlink targets (S) keep theirs.
    await sh(`tar -C ${rootfs} --numeric-owner --transform 's,^\\./*,rootfs/,S' -cJf ${work}/wrapped.tar.xz .`);
    const listing = await run('tar', ['-tJf', join(work, 'wrapped.tar.xz')]);
    expect(listing.stdout.split('\n')).to.include('rootfs/bin/busybox');
    await expectDone(await s.machinectl(['import-tar', join(work, 'wrapped.tar.xz'), 'wrapped']));
    expect(await treeManifest(join(POOL, 'wrapped'))).to.deep.equal(await treeManifest(rootfs));
    web.routes.set('/wrapped/wrapped.tar.xz', readFileSync(join(work, 'wrapped.tar.xz')));
    await expectDone(await s.machinectl(['pull-tar', '--verify=no', `${web.base}/wrapped/wrapped.tar.xz`, 'wrapped-pull']));
    expect(existsSync(join(POOL, 'wrapped-pull/bin/busybox'))).to.equal(true);
  });

  it('imports from a pipe (machinectl reads stdin) with progress unknown until the end', async () => {
    const r = await s.machinectl(['import-tar', '-', 'imp-pipe'], { input: readFileSync(join(work, 'busybox.tar.xz')) });
    await expectDone(r);
    expect(existsSync(join(POOL, 'imp-pipe/bin/busybox'))).to.equal(true);
  });

  it('refuses to replace an existing image without --force, and replaces it with --force', async () => {
    const again = await s.machinectl(['import-tar', join(work, 'busybox.tar'), 'imp-tar']);
    const id = enqueuedId(again);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.contain("Image 'imp-tar' already exists.");
    expect(await removedSignals(s, id)).to.deep.equal(['failed']);
    writeFileSync(join(POOL, 'imp-tar/marker'), 'old image\n');
    await expectDone(await s.machinectl(['import-tar', '--force', join(work, 'busybox.tar'), 'imp-tar']));
    expect(existsSync(join(POOL, 'imp-tar/marker'))).to.equal(false);
  });

  it('imports a compressed raw image with import-raw as NAME.raw, byte for byte', async () => {
    await expectDone(await s.machinectl(['import-raw', join(work, 'disk.raw.xz'), 'imp-raw']));
    expect(sha256(readFileSync(join(POOL, 'imp-raw.raw')))).to.equal(sha256(readFileSync(join(work, 'disk.raw'))));
  });

  it('copies a directory tree with import-fs', async () => {
    await expectDone(await s.machinectl(['import-fs', rootfs, 'imp-fs']));
    expect(await treeManifest(join(POOL, 'imp-fs'))).to.deep.equal(await treeManifest(rootfs));
  });

  it('round-trips export-tar then import-tar in every format, keeping ownership, modes, xattrs, devices, symlinks and hard links', async () => {
    const src = await makeRichTree(join(work, 'rich'));
    const expected = await treeManifest(src);
    expect(expected.find((e) => e.path === 'srv/data/owned-hardlink')?.hardlinkOf).to.equal('srv/data/owned');
    await expectDone(await s.machinectl(['import-fs', src, 'rich']));
    expect(await treeManifest(join(POOL, 'rich'))).to.deep.equal(expected);
    for (const ext of ['tar.xz', 'tar.gz', 'tar.bz2', 'tar.zst', 'tar']) {
      const file = join(work, `rich-export.${ext}`);
      await expectDone(await s.machinectl(['export-tar', 'rich', file]));
      const back = `rich-back-${ext.replace(/\./g, '-')}`;
      await expectDone(await s.machinectl(['import-tar', file, back]));
      expect(await treeManifest(join(POOL, back)), ext).to.deep.equal(expected);
    }
  });

  it('exports a raw image with export-raw', async () => {
    const out = join(work, 'disk-export.raw.gz');
    await expectDone(await s.machinectl(['export-raw', 'imp-raw', out]));
    const r = await run('bash', ['-c', `gzip -dc ${out} | sha256sum`]);
    expect(r.stdout.split(' ')[0]).to.equal(sha256(readFileSync(join(work, 'disk.raw'))));
  });

  it('pulls a tar.xz with --verify=checksum from a loopback server', async () => {
    const r = await s.machinectl(['pull-tar', '--verify=checksum', `${web.base}/img/busybox.tar.xz`, 'bb']);
    await expectDone(r);
    expect(r.stderr).to.contain(`SHA256 checksum of ${web.base}/img/busybox.tar.xz is valid.`);
    expect(web.requests).to.include.members(['/img/SHA256SUMS', '/img/busybox.tar.xz']);
    expect(await treeManifest(join(POOL, 'bb'))).to.deep.equal(await treeManifest(rootfs));
    // And it boots: systemd-nspawn runs a command in it, registered with our machined.
    const c = spawnNspawn({ name: testMachineName('pulled'), rootfs: join(POOL, 'bb'), busAddress: s.bus.address, command: ['/bin/sh', '-c', 'cat /etc/os-release'] });
    const exit = await c.exited;
    expect(exit.code, c.output().join('\n')).to.equal(0);
    expect(c.output().join('\n')).to.contain(readFileSync(join(rootfs, 'etc/os-release'), 'utf8').split('\n')[0]);
  });

  it('pulls gz, bz2, zst and plain tar archives, and a compressed raw image, each verified', async () => {
    for (const ext of ['tar', 'tar.gz', 'tar.bz2', 'tar.zst']) {
      const name = `pull-${ext.replace(/\./g, '-')}`;
      await expectDone(await s.machinectl(['pull-tar', '--verify=checksum', `${web.base}/img/busybox.${ext}`, name]));
      expect(existsSync(join(POOL, name, 'bin/busybox')), ext).to.equal(true);
    }
    await expectDone(await s.machinectl(['pull-raw', '--verify=checksum', `${web.base}/img/disk.raw.xz`, 'pull-raw']));
    expect(sha256(readFileSync(join(POOL, 'pull-raw.raw')))).to.equal(sha256(readFileSync(join(work, 'disk.raw'))));
  });

  it('follows redirects', async () => {
    web.routes.set('/moved/busybox.tar.xz', (_req, res) => res.writeHead(302, { location: '/img/busybox.tar.xz' }).end());
    await expectDone(await s.machinectl(['pull-tar', '--verify=no', `${web.base}/moved/busybox.tar.xz`, 'pull-redirected']));
    expect(existsSync(join(POOL, 'pull-redirected/bin/busybox'))).to.equal(true);
  });

  it('lists a running transfer with list-transfers and cancels it with cancel-transfer, leaving nothing behind', async () => {
    const head = readFileSync(join(work, 'busybox.tar')).subarray(0, 64 << 10);
    web.routes.set('/stall/busybox.tar', (_req, res) => {
      res.writeHead(200, { 'content-length': 10 << 20 });
      res.write(head); // then nothing more, until the client goes away
    });
    const pulling = s.machinectl(['pull-tar', '--verify=no', `${web.base}/stall/busybox.tar`, 'stalled']);
    const started = await s.transferNew.waitFor((m) => !s.transferRemoved.signals.some((r) => r.body[0] === m.body[0]) && m.body[0] > 0);
    const id = started.body[0] as number;
    const list = await waitUntil(async () => {
      const r = await s.machinectl(['list-transfers']);
      return r.stdout.includes('stalled') ? r : null;
    }, 'the stalled pull in list-transfers');
    expect(list.stdout).to.match(new RegExp(`^\\s*${id}\\s+(\\d+%|n/a)\\s+pull-tar\\s+stalled\\s+${web.base.replace(/[.]/g, '\\.')}/stall/busybox\\.tar`, 'm'));
    expect(list.stdout).to.contain('1 transfers listed.');
    // The Transfer object: upstream's properties, and a real fraction (64 KiB of 10 MiB so far).
    const [props] = await s.client.call(IMPORT1, `/org/freedesktop/import1/transfer/_${id}`, 'org.freedesktop.DBus.Properties', 'GetAll', 's', ['']);
    const value = (k: string) => (props as Record<string, { value: unknown }>)[k]!.value;
    expect([value('Id'), value('Local'), value('Remote'), value('Type'), value('Verify')]).to.deep.equal([
      id, 'stalled', `${web.base}/stall/busybox.tar`, 'pull-tar', 'no',
    ]);
    expect(value('Progress')).to.be.greaterThan(0).and.lessThan(0.1);
    const [transfers] = await s.client.call(IMPORT1, '/org/freedesktop/import1', 'org.freedesktop.import1.Manager', 'ListTransfers');
    expect(transfers).to.deep.include([id, 'pull-tar', `${web.base}/stall/busybox.tar`, 'stalled', value('Progress'), `/org/freedesktop/import1/transfer/_${id}`]);
    // One pull per URL, and one writer per local name, at a time.
    const pull = (url: string, local: string) => s.client.call(IMPORT1, '/org/freedesktop/import1', MANAGER, 'PullTar', 'sssb', [url, local, 'no', false]);
    expect(await errorOf(pull(`${web.base}/stall/busybox.tar`, 'other-name'))).to.deep.equal({
      name: 'org.freedesktop.import1.TransferInProgress', message: `Transfer for ${web.base}/stall/busybox.tar already in progress.`,
    });
    expect(await errorOf(pull(`${web.base}/img/busybox.tar`, 'stalled'))).to.deep.equal({
      name: 'org.freedesktop.import1.TransferInProgress', message: 'Transfer for stalled already in progress.',
    });
    // Its tar holds its stdio and its own files in the pool: no client fd of any transfer leaks into a tool.
    const kids = readFileSync(`/proc/${s.importd.pid}/task/${s.importd.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    expect(kids.length).to.be.greaterThan(0);
    for (const kid of kids) {
      const fds = readdirSync(`/proc/${kid}/fd`).filter((fd) => Number(fd) > 2);
      const targets = fds.map((fd) => readlinkSync(`/proc/${kid}/fd/${fd}`)).filter((t) => !t.startsWith(`${POOL}/`));
      expect(targets, `fds of ${kid} outside the pool`).to.deep.equal([]);
    }
    const cancel = await s.machinectl(['cancel-transfer', String(id)]);
    expect(cancel.code, cancel.stderr).to.equal(0);
    const r = await pulling;
    expect(r.code).to.equal(1);
    expect(await removedSignals(s, id)).to.deep.equal(['canceled']);
    expect(existsSync(join(POOL, 'stalled'))).to.equal(false);
    expect(temporaries()).to.deep.equal([]);
    const none = await s.machinectl(['list-transfers']);
    expect(none.stdout).to.contain('No transfers.');
  });

  it('marks an image read-only with --read-only (the immutable flag on its directory)', async () => {
    await expectDone(await s.machinectl(['import-tar', '--read-only', join(work, 'busybox.tar.xz'), 'imp-ro']));
    const attrs = await run('lsattr', ['-d', join(POOL, 'imp-ro')]);
    expect(attrs.stdout.split(' ')[0]).to.contain('i');
    // Replacing it with --force gets past the flag.
    await expectDone(await s.machinectl(['import-tar', '--force', join(work, 'busybox.tar.xz'), 'imp-ro']));
    expect((await run('lsattr', ['-d', join(POOL, 'imp-ro')])).stdout.split(' ')[0]).not.to.contain('i');
  });

  it('answers bad arguments with upstream\'s errors, before any transfer starts', async () => {
    const call = (member: string, sig: string, body: unknown[]) => s.client.call(IMPORT1, '/org/freedesktop/import1', MANAGER, member, sig, body);
    const before = s.transferNew.signals.length;
    expect(await errorOf(call('PullTar', 'sssb', ['ftp://x/y.tar', 'x', 'no', false]))).to.deep.equal({
      name: 'org.freedesktop.DBus.Error.InvalidArgs', message: 'URL ftp://x/y.tar is invalid',
    });
    expect(await errorOf(call('PullTar', 'sssb', [`${web.base}/img/busybox.tar`, '../x', 'no', false]))).to.deep.equal({
      name: 'org.freedesktop.DBus.Error.InvalidArgs', message: 'Local image name ../x is invalid',
    });
    expect(await errorOf(call('PullRaw', 'sssb', [`${web.base}/img/disk.raw.xz`, 'x', 'maybe', false]))).to.deep.equal({
      name: 'org.freedesktop.DBus.Error.InvalidArgs', message: 'Unknown verification mode maybe',
    });
    expect(await errorOf(call('PullTarEx', 'sssst', [`${web.base}/img/busybox.tar`, 'x', 'portable', 'no', 0n]))).to.deep.equal({
      name: 'org.freedesktop.DBus.Error.InvalidArgs', message: "Image class 'portable' not known",
    });
    expect(await errorOf(call('PullTarEx', 'sssst', [`${web.base}/img/busybox.tar`, 'x', 'machine', 'no', 8n]))).to.deep.equal({
      name: 'org.freedesktop.DBus.Error.InvalidArgs', message: 'Flags 0x8 invalid',
    });
    expect(await errorOf(call('CancelTransfer', 'u', [0]))).to.deep.equal({ name: 'org.freedesktop.DBus.Error.InvalidArgs', message: 'Invalid transfer id' });
    expect(await errorOf(call('CancelTransfer', 'u', [4242]))).to.deep.equal({ name: 'org.freedesktop.import1.NoSuchTransfer', message: 'No transfer by id 4242' });
    expect((await errorOf(call('ListImages', 'st', ['', 0n]))).name).to.equal('org.freedesktop.DBus.Error.NotSupported');
    expect(s.transferNew.signals.length).to.equal(before);
  });

  it('pulls through PullTarEx and lists with ListTransfersEx', async () => {
    const [id, path] = await s.client.call(IMPORT1, '/org/freedesktop/import1', MANAGER, 'PullTarEx', 'sssst', [`${web.base}/img/busybox.tar.gz`, 'pull-ex', 'machine', 'checksum', 0n]);
    expect(path).to.equal(`/org/freedesktop/import1/transfer/_${id}`);
    const [list] = await s.client.call(IMPORT1, '/org/freedesktop/import1', MANAGER, 'ListTransfersEx', 'st', ['', 0n]);
    expect(Array.isArray(list)).to.equal(true);
    expect(await removedSignals(s, id as number)).to.deep.equal(['done']);
    expect(existsSync(join(POOL, 'pull-ex/bin/busybox'))).to.equal(true);
  });

  it('cancels through the Transfer object\'s own Cancel() (busctl)', async () => {
    const head = readFileSync(join(work, 'busybox.tar')).subarray(0, 32 << 10);
    web.routes.set('/stall2/busybox.tar', (_req, res) => {
      res.writeHead(200, { 'content-length': 10 << 20 });
      res.write(head);
    });
    const pulling = s.machinectl(['pull-tar', '--verify=no', `${web.base}/stall2/busybox.tar`, 'stalled2']);
    const started = await s.transferNew.waitFor((m) => !s.transferRemoved.signals.some((r) => r.body[0] === m.body[0]));
    const [id, path] = started.body as [number, string];
    await waitUntil(() => readdirSync(POOL).some((e) => e.startsWith('.#import-stalled2-')), 'the download under way');
    const r = await run('busctl', [`--address=${s.bus.address}`, 'call', IMPORT1, path, 'org.freedesktop.import1.Transfer', 'Cancel']);
    expect(r.code, r.stderr).to.equal(0);
    expect((await pulling).code).to.equal(1);
    expect(await removedSignals(s, id)).to.deep.equal(['canceled']);
    expect(readdirSync(POOL).filter((e) => e.includes('stalled2'))).to.deep.equal([]);
  });

  it('introspects as upstream: the Manager\'s methods with their signatures', async () => {
    const r = await run('busctl', [`--address=${s.bus.address}`, 'introspect', '--no-pager', IMPORT1, '/org/freedesktop/import1']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^\.ImportTar\s+method\s+hsbb\s+uo\s/m);
    expect(r.stdout).to.match(/^\.PullTar\s+method\s+sssb\s+uo\s/m);
    expect(r.stdout).to.match(/^\.ListTransfers\s+method\s+-\s+a\(usssdo\)\s/m);
    expect(r.stdout).to.match(/^\.TransferRemoved\s+signal\s+uos\s/m);
  });

  it('keeps the client fds of one transfer out of the tools of another', async () => {
    const tarball = readFileSync(join(work, 'busybox.tar'));
    // An import from a pipe that stays open: importd holds the client's pipe while it runs.
    const importer = track(
      spawn('machinectl', ['--no-pager', 'import-tar', '-', 'piped-slowly'], {
        env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: s.bus.address },
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
      }),
    );
    const imported = new Promise<number | null>((resolve) => importer.once('close', (code) => resolve(code)));
    importer.stdin!.write(tarball.subarray(0, 64 << 10));
    await waitUntil(() => readdirSync(POOL).some((e) => e.startsWith('.#import-piped-slowly-')), 'the piped import under way');
    // Then a transfer whose tar starts while that pipe is open in importd.
    web.routes.set('/stall3/busybox.tar', (_req, res) => {
      res.writeHead(200, { 'content-length': 10 << 20 });
      res.write(tarball.subarray(0, 32 << 10));
    });
    const pulling = s.machinectl(['pull-tar', '--verify=no', `${web.base}/stall3/busybox.tar`, 'stalled3']);
    await waitUntil(() => readdirSync(POOL).some((e) => e.startsWith('.#import-stalled3-')), 'the stalled pull under way');
    const kids = readFileSync(`/proc/${s.importd.pid}/task/${s.importd.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    expect(kids.length).to.be.greaterThan(1);
    for (const kid of kids) {
      const fds = readdirSync(`/proc/${kid}/fd`).filter((fd) => Number(fd) > 2);
      const outside = fds.map((fd) => readlinkSync(`/proc/${kid}/fd/${fd}`)).filter((t) => !t.startsWith(`${POOL}/`));
      expect(outside, `fds of ${kid} outside the pool`).to.deep.equal([]);
    }
    importer.stdin!.end(tarball.subarray(64 << 10));
    expect(await imported).to.equal(0);
    const [list] = await s.client.call(IMPORT1, '/org/freedesktop/import1', MANAGER, 'ListTransfers');
    const pull = (list as unknown[][]).find((t) => t[3] === 'stalled3')!;
    expect((await s.machinectl(['cancel-transfer', String(pull[0])])).code).to.equal(0);
    expect((await pulling).code).to.equal(1);
    expect(existsSync(join(POOL, 'piped-slowly/bin/busybox'))).to.equal(true);
  });

  it('imports through ImportTarEx with an fd sent by python3-dbus (flags: read_only)', async () => {
    const script = [
      'import dbus, os, sys',
      'bus = dbus.bus.BusConnection(sys.argv[1])',
      "m = dbus.Interface(bus.get_object('org.freedesktop.import1', '/org/freedesktop/import1'), 'org.freedesktop.import1.Manager')",
      'fd = os.open(sys.argv[2], os.O_RDONLY)',
      "tid, path = m.ImportTarEx(dbus.types.UnixFd(fd), 'ex-import', 'machine', dbus.UInt64(2))",
      'print(int(tid), str(path))',
    ].join('\n');
    const r = await run('/usr/bin/python3', ['-c', script, s.bus.address, join(work, 'busybox.tar.zst')]);
    expect(r.code, r.stderr).to.equal(0);
    const [id, path] = r.stdout.trim().split(' ');
    expect(path).to.equal(`/org/freedesktop/import1/transfer/_${id}`);
    expect(await removedSignals(s, Number(id))).to.deep.equal(['done']);
    expect((await run('lsattr', ['-d', join(POOL, 'ex-import')])).stdout.split(' ')[0]).to.contain('i');
  });
});
