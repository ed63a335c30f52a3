/**
 * importd beyond the basics, with Debian's real machinectl 252 where it can drive the feature:
 * qcow2 images in import-raw and pull-raw converted to raw by importd itself (compared byte for
 * byte with `qemu-img convert -O raw`), `file://` pulls, kept downloads (PullTarEx/PullRawEx
 * keep_download, and `pull-raw URL -`), and our machinectl's progress line on a terminal, its
 * plain log lines otherwise, and Ctrl-C leaving the transfer running; and importd's install.sh
 * below a scratch root (never the real /). Runs inside
 * run-in-namespace.sh, where /var/lib/machines is a private tmpfs.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MACHINECTL_ENTRY, REPO_ROOT, errorOf, run, track, trackPath, waitUntil } from '../support/index.js';
import { startHttpFixture, type HttpFixture } from '../support/http-fixture.js';
import { enqueuedId, removedSignals, useImportStack } from '../support/importd-process.js';

const POOL = '/var/lib/machines';
const IMPORT1 = 'org.freedesktop.import1';
const MANAGER = 'org.freedesktop.import1.Manager';
const KEEP_DOWNLOAD = 4n;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function sh(cmd: string): Promise<void> {
  const r = await run('bash', ['-euo', 'pipefail', '-c', cmd], { timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

const temporaries = () => readdirSync(POOL).filter((e) => e.startsWith('.#'));

/** upstream's xescape(url, "/.#\"'"), as a kept download's name carries the URL. */
const xescape = (s: string) => s.replace(/[\x00-\x1f\x7f-\xff\\/.#"']/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

describe('importd extras: qcow2, file:// pulls, kept downloads, machinectl progress', function () {
  const s = useImportStack();
  let work: string;
  let web: HttpFixture;
  /** qemu-img's raw rendering of every qcow2 below (they all hold the same disk). */
  let reference: Buffer;

  before(async () => {
    work = trackPath(mkdtempSync(join(tmpdir(), 'importd-extra-')));
    chmodSync(work, 0o755);
    // A disk with data, a hole and data again, not a multiple of the 64 KiB cluster size.
    const disk = Buffer.alloc((5 << 20) + 4096);
    randomBytes(2 << 20).copy(disk, 0);
    randomBytes(300 << 10).copy(disk, 4 << 20);
    writeFileSync(join(work, 'disk.raw'), disk);
    await sh(`cd ${work} && qemu-img convert -f raw -O qcow2 disk.raw v3.qcow2`);
    // Zero clusters (v3 "reads as zeros" entries) over allocated data.
    await sh(`cd ${work} && qemu-io -c 'write -z 1M 256k' v3.qcow2 >/dev/null`);
    await sh(`cd ${work} && qemu-img convert -O raw v3.qcow2 reference.raw`);
    await sh(`cd ${work} && qemu-img convert -O qcow2 -o compat=0.10 v3.qcow2 v2.qcow2`);
    await sh(`cd ${work} && qemu-img convert -c -O qcow2 v3.qcow2 compressed.qcow2 && xz -kc compressed.qcow2 > compressed.qcow2.xz && gzip -kc v2.qcow2 > v2.qcow2.gz`);
    await sh(`cd ${work} && qemu-img create -q -f qcow2 -b v3.qcow2 -F qcow2 overlay.qcow2`);
    reference = readFileSync(join(work, 'reference.raw'));
    expect(reference.subarray(1 << 20, (1 << 20) + (256 << 10)).every((b) => b === 0)).to.equal(true);

    web = await startHttpFixture();
    const sums: string[] = [];
    for (const n of ['compressed.qcow2.xz', 'v3.qcow2', 'overlay.qcow2']) {
      const body = readFileSync(join(work, n));
      web.routes.set(`/q/${n}`, body);
      sums.push(`${sha256(body)}  ${n}`);
    }
    web.routes.set('/q/SHA256SUMS', sums.join('\n') + '\n');
    await sh(`mkdir -p ${work}/tree/etc ${work}/tree/bin && echo ID=extra > ${work}/tree/etc/os-release && tar -C ${work}/tree -cJf ${work}/tree.tar.xz .`);
    web.routes.set('/t/tree.tar.xz', readFileSync(join(work, 'tree.tar.xz')));
    writeFileSync(join(work, 'SHA256SUMS'), `${sha256(readFileSync(join(work, 'tree.tar.xz')))}  tree.tar.xz\n${sha256(readFileSync(join(work, 'v3.qcow2')))}  v3.qcow2\n`);
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

  async function callDone(member: string, signature: string, body: unknown[]): Promise<number> {
    const [id] = await s.client.call(IMPORT1, '/org/freedesktop/import1', MANAGER, member, signature, body);
    expect(await removedSignals(s, id as number)).to.deep.equal(['done']);
    expect(temporaries()).to.deep.equal([]);
    return id as number;
  }

  describe('qcow2 converted to raw', () => {
    it('import-raw of a v3 qcow2 with zero clusters: NAME.raw equals qemu-img convert -O raw, byte for byte', async () => {
      const r = await s.machinectl(['import-raw', join(work, 'v3.qcow2'), 'q-v3']);
      await expectDone(r);
      expect(r.stderr).to.contain('Unpacking QCOW2 file.');
      expect(readFileSync(join(POOL, 'q-v3.raw')).equals(reference)).to.equal(true);
      // Holes stay holes: the zero and unallocated clusters take no space.
      expect(statSync(join(POOL, 'q-v3.raw')).blocks * 512).to.be.lessThan(reference.length);
    });

    it('import-raw of a gzip-compressed v2 qcow2 from a pipe', async () => {
      await expectDone(await s.machinectl(['import-raw', '-', 'q-v2'], { input: readFileSync(join(work, 'v2.qcow2.gz')) }));
      expect(readFileSync(join(POOL, 'q-v2.raw')).equals(reference)).to.equal(true);
    });

    it('pull-raw --verify=checksum of an xz-compressed qcow2 with deflate-compressed clusters', async () => {
      const r = await s.machinectl(['pull-raw', '--verify=checksum', `${web.base}/q/compressed.qcow2.xz`, 'q-pull']);
      await expectDone(r);
      expect(r.stderr).to.contain(`SHA256 checksum of ${web.base}/q/compressed.qcow2.xz is valid.`);
      expect(readFileSync(join(POOL, 'q-pull.raw')).equals(reference)).to.equal(true);
    });

    it('refuses a qcow2 with a backing file: failed, a clear message, nothing in the pool', async () => {
      const r = await s.machinectl(['pull-raw', '--verify=checksum', `${web.base}/q/overlay.qcow2`, 'q-overlay']);
      const id = enqueuedId(r);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/The qcow2 image has a backing file \('v3\.qcow2'\).*refusing it/);
      expect(await removedSignals(s, id)).to.deep.equal(['failed']);
      expect(existsSync(join(POOL, 'q-overlay.raw'))).to.equal(false);
      expect(temporaries()).to.deep.equal([]);
    });
  });

  describe('file:// URLs and kept downloads', () => {
    it('pull-tar and pull-raw from file:// URLs, verified against the SHA256SUMS beside them', async () => {
      await expectDone(await s.machinectl(['pull-tar', '--verify=checksum', `file://${work}/tree.tar.xz`, 'from-file']));
      expect(readFileSync(join(POOL, 'from-file/etc/os-release'), 'utf8')).to.equal('ID=extra\n');
      await expectDone(await s.machinectl(['pull-raw', '--verify=checksum', `file://${work}/v3.qcow2`, 'from-file-raw']));
      expect(readFileSync(join(POOL, 'from-file-raw.raw')).equals(reference)).to.equal(true);
    });

    it('fails a file:// pull of a missing file with the reason', async () => {
      const r = await s.machinectl(['pull-raw', '--verify=no', `file://${work}/missing.raw`, 'no-file']);
      const id = enqueuedId(r);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain(`Failed to retrieve file://${work}/missing.raw: No such file or directory (ENOENT).`);
      expect(await removedSignals(s, id)).to.deep.equal(['failed']);
    });

    it('PullTarEx with keep_download keeps the verified download as a hidden read-only image beside the local copy', async () => {
      const url = `${web.base}/t/tree.tar.xz`;
      web.routes.set('/t/SHA256SUMS', `${sha256(readFileSync(join(work, 'tree.tar.xz')))}  tree.tar.xz\n`);
      await callDone('PullTarEx', 'sssst', [url, 'kept-tar', 'machine', 'checksum', KEEP_DOWNLOAD]);
      const hidden = join(POOL, `.tar-${xescape(url)}`);
      expect(readFileSync(join(hidden, 'etc/os-release'), 'utf8')).to.equal('ID=extra\n');
      expect(readFileSync(join(POOL, 'kept-tar/etc/os-release'), 'utf8')).to.equal('ID=extra\n');
      // The kept download is immutable; the local image is a writable copy.
      const attrs = await run('lsattr', ['-d', hidden]);
      expect(attrs.stdout.split(/\s/)[0]).to.contain('i');
      writeFileSync(join(POOL, 'kept-tar/etc/hostname'), 'changed\n');
      expect(existsSync(join(hidden, 'etc/hostname'))).to.equal(false);
    });

    it('pull-raw URL - (no local name) keeps only the download, named after the URL', async () => {
      const url = `${web.base}/q/v3.qcow2`;
      await expectDone(await s.machinectl(['pull-raw', '--verify=checksum', url, '-']));
      const hidden = join(POOL, `.raw-${xescape(url)}.raw`);
      expect(readFileSync(hidden).equals(reference)).to.equal(true);
      expect(statSync(hidden).mode & 0o222).to.equal(0);
      expect(readdirSync(POOL).filter((e) => e.startsWith('v3'))).to.deep.equal([]);
    });

    it('refuses Ex flags beyond force, read_only and keep_download', async () => {
      const err = await errorOf(s.client.call(IMPORT1, '/org/freedesktop/import1', MANAGER, 'PullRawEx', 'sssst', [`${web.base}/q/v3.qcow2`, 'x', 'machine', 'no', 8n]));
      expect(err).to.deep.equal({ name: 'org.freedesktop.DBus.Error.InvalidArgs', message: 'Flags 0x8 invalid' });
    });
  });

  describe('our machinectl following a transfer', () => {
    const env = () => ({ ...process.env, DBUS_SYSTEM_BUS_ADDRESS: s.bus.address, SYSTEMD_COLORS: '0' });

    it('prints plain log lines when stderr is not a terminal', async () => {
      const r = await run(process.execPath, [MACHINECTL_ENTRY, '--no-pager', 'import-raw', join(work, 'v3.qcow2'), 'ours-plain'], { env: env(), timeoutMs: 60000 });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.contain('Unpacking QCOW2 file.\n');
      expect(r.stderr).to.contain('Operation completed successfully.\n');
      expect(r.stderr).not.to.contain('Total:');
      expect(r.stderr).not.to.contain('\r');
    });

    it('draws a progress line (bar, percent, bytes of the total) on a terminal, cleared at the end', async () => {
      // script(1) gives the command a pseudo-terminal and copies what it shows to our stdout.
      const cmd = [process.execPath, MACHINECTL_ENTRY, '--no-pager', 'import-raw', join(work, 'disk.raw'), 'ours-tty'].map((a) => `'${a}'`).join(' ');
      const r = await run('script', ['-qefc', cmd, '/dev/null'], { env: { ...env(), COLUMNS: '100' }, timeoutMs: 60000 });
      expect(r.code, r.stdout).to.equal(0);
      expect(r.stdout).to.match(/Total: \[[=> ]+\]\s+\d+% [\d.]+[BKM]\/5\.0M/);
      expect(r.stdout).to.contain('Operation completed successfully.');
      // The last thing on the terminal is not a stale bar: the line was wiped.
      expect(r.stdout.trimEnd().endsWith('\x1b[K') || !/Total:[^\n]*$/.test(r.stdout)).to.equal(true);
      expect(readFileSync(join(POOL, 'ours-tty.raw')).equals(readFileSync(join(work, 'disk.raw')))).to.equal(true);
    });

    it('Ctrl-C detaches as upstream says and leaves the transfer running; cancel-transfer ends it', async () => {
      const head = reference.subarray(0, 64 << 10);
      web.routes.set('/stall/disk.raw', (_req, res) => {
        res.writeHead(200, { 'content-length': 10 << 20 });
        res.write(head); // and then nothing
      });
      const child = track(
        spawn(process.execPath, [MACHINECTL_ENTRY, '--no-pager', 'pull-raw', '--verify=no', `${web.base}/stall/disk.raw`, 'detached'], {
          env: env(),
          detached: true,
          stdio: ['ignore', 'ignore', 'pipe'],
        }),
      );
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      const id = Number((await waitUntil(() => /Enqueued transfer job (\d+)\./.exec(stderr), 'the transfer enqueued'))[1]);
      child.kill('SIGINT');
      expect(await exited).to.equal(1);
      expect(stderr).to.contain(`Continuing download in the background. Use "machinectl cancel-transfer ${id}" to abort transfer.`);
      const list = await s.machinectl(['list-transfers']);
      expect(list.stdout).to.match(new RegExp(`^\\s*${id}\\s+\\S+\\s+pull-raw\\s+detached\\s`, 'm'));
      const cancel = await s.machinectl(['cancel-transfer', String(id)]);
      expect(cancel.code, cancel.stderr).to.equal(0);
      expect(await removedSignals(s, id)).to.deep.equal(['canceled']);
      expect(temporaries()).to.deep.equal([]);
      expect(existsSync(join(POOL, 'detached.raw'))).to.equal(false);
    });
  });

  describe('deploy/install.sh', () => {
    const DEPLOY = join(REPO_ROOT, 'apps/importd/deploy');

    /** Every path below `dir` with its type, mode and content (or link target). */
    function manifest(dir: string, rel = ''): string[] {
      const out: string[] = [];
      for (const e of readdirSync(join(dir, rel)).sort()) {
        const p = join(rel, e);
        const st = lstatSync(join(dir, p));
        const mode = (st.mode & 0o7777).toString(8);
        if (st.isSymbolicLink()) out.push(`${p} -> ${readlinkSync(join(dir, p))}`);
        else if (st.isDirectory()) out.push(`${p}/ ${mode}`, ...manifest(dir, p));
        else out.push(`${p} ${mode} ${sha256(readFileSync(join(dir, p)))}`);
      }
      return out;
    }

    /** A dist as the build lays it out: the bundle, its package.json, and deploy/ copied in. */
    function fakeDist(work: string): string {
      const dist = join(work, 'dist');
      cpSync(DEPLOY, dist, { recursive: true });
      mkdirSync(join(dist, 'bin'));
      writeFileSync(join(dist, 'bin/importd.mjs'), '#!/usr/bin/env node\n');
      writeFileSync(join(dist, 'package.json'), '{"name":"importd","version":"0.0.0","type":"module"}\n');
      return dist;
    }

    it('the OpenRC script and install.sh are valid shell', async () => {
      const openrc = readFileSync(join(DEPLOY, 'openrc/importd'), 'utf8');
      expect(openrc.startsWith('#!/sbin/openrc-run\n')).to.equal(true);
      expect(openrc).to.match(/^command="\/usr\/lib\/importd\/bin\/importd\.mjs"$/m).and.match(/need dbus/);
      expect((await run('sh', ['-n', join(DEPLOY, 'openrc/importd')])).code).to.equal(0);
      expect((await run('bash', ['-n', join(DEPLOY, 'install.sh')])).code).to.equal(0);
    });

    it('installs below a root (systemd), sets upstream files aside and masks systemd-importd; --uninstall reverses exactly', async () => {
      const work = trackPath(mkdtempSync(join(tmpdir(), 'importd-e2e-install-')));
      const dist = fakeDist(work);
      // A Debian-like root with systemd-container's importd files present.
      const root = join(work, 'root');
      mkdirSync(join(root, 'lib/systemd/system'), { recursive: true });
      mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
      mkdirSync(join(root, 'usr/share/dbus-1/system.d'), { recursive: true });
      mkdirSync(join(root, 'usr/share/dbus-1/system-services'), { recursive: true });
      writeFileSync(join(root, 'lib/systemd/system/systemd-importd.service'), '[Service]\n');
      const upstreamPolicy = join(root, 'usr/share/dbus-1/system.d/org.freedesktop.import1.conf');
      const upstreamActivation = join(root, 'usr/share/dbus-1/system-services/org.freedesktop.import1.service');
      writeFileSync(upstreamPolicy, '<busconfig/>\n');
      writeFileSync(upstreamActivation, '[D-BUS Service]\nName=org.freedesktop.import1\n');
      const before = manifest(root);

      const inst = await run('bash', [join(dist, 'install.sh'), '--root', root, '--skip-npm']);
      expect(inst.code, inst.stderr).to.equal(0);
      expect(readFileSync(join(root, 'usr/lib/importd/bin/importd.mjs'), 'utf8')).to.match(/^#!/);
      expect(statSync(join(root, 'usr/lib/importd/bin/importd.mjs')).mode & 0o111).to.equal(0o111);
      expect(readFileSync(upstreamPolicy, 'utf8')).to.equal(readFileSync(join(DEPLOY, 'dbus/org.freedesktop.import1.conf'), 'utf8'));
      expect(readFileSync(`${upstreamPolicy}.importd-orig`, 'utf8')).to.equal('<busconfig/>\n');
      expect(readFileSync(upstreamActivation, 'utf8')).to.equal(readFileSync(join(DEPLOY, 'dbus/org.freedesktop.import1.service'), 'utf8'));
      expect(readFileSync(join(root, 'etc/systemd/system/importd.service'), 'utf8')).to.equal(readFileSync(join(DEPLOY, 'systemd/importd.service'), 'utf8'));
      expect(readlinkSync(join(root, 'etc/systemd/system/systemd-importd.service'))).to.equal('/dev/null');
      expect(existsSync(join(root, 'etc/init.d/importd'))).to.equal(false);

      // Installing again over itself is fine and keeps the record of what to restore.
      const again = await run('bash', [join(dist, 'install.sh'), '--root', root, '--skip-npm']);
      expect(again.code, again.stderr).to.equal(0);
      expect(existsSync(`${upstreamPolicy}.importd-orig`)).to.equal(true);

      const un = await run('bash', [join(root, 'usr/lib/importd/install.sh'), '--root', root, '--uninstall']);
      expect(un.code, un.stderr).to.equal(0);
      // Only the directories install.sh had to create remain (usr/lib).
      expect(manifest(root).filter((l) => !/^usr\/lib\/ /.test(l) && l !== 'usr/lib/ 755')).to.deep.equal(before);
    });

    it('installs the OpenRC script with --init openrc and removes it with --uninstall', async () => {
      const work = trackPath(mkdtempSync(join(tmpdir(), 'importd-e2e-install-')));
      const dist = fakeDist(work);
      const root = join(work, 'root');
      mkdirSync(root);
      const inst = await run('bash', [join(dist, 'install.sh'), '--root', root, '--skip-npm', '--init', 'openrc']);
      expect(inst.code, inst.stderr).to.equal(0);
      expect(readFileSync(join(root, 'etc/init.d/importd'), 'utf8')).to.equal(readFileSync(join(DEPLOY, 'openrc/importd'), 'utf8'));
      expect(statSync(join(root, 'etc/init.d/importd')).mode & 0o777).to.equal(0o755);
      expect(existsSync(join(root, 'etc/systemd/system/importd.service'))).to.equal(false);
      const un = await run('bash', [join(root, 'usr/lib/importd/install.sh'), '--root', root, '--uninstall']);
      expect(un.code, un.stderr).to.equal(0);
      for (const f of ['etc/init.d/importd', 'usr/lib/importd', 'usr/share/dbus-1/system.d/org.freedesktop.import1.conf', 'usr/share/dbus-1/system-services/org.freedesktop.import1.service']) {
        expect(existsSync(join(root, f)), f).to.equal(false);
      }
    });
  });
});
