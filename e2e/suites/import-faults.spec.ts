/**
 * importd's failures, driven by Debian's machinectl 252: bad downloads (checksum mismatch, no
 * SHA256SUMS, HTTP 404 and 500, a connection reset half-way), broken and hostile archives, and
 * unprivileged callers. Every failed transfer must end in exactly one TransferRemoved "failed",
 * with a clear log line, nothing under the local name, no temporary in the pool and nothing
 * written outside it.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfs, run, trackPath } from '../support/index.js';
import { startHttpFixture, type HttpFixture } from '../support/http-fixture.js';
import { makeHostileTar } from '../support/image-trees.js';
import { enqueuedId, removedSignals, useImportStack } from '../support/importd-process.js';

const POOL = '/var/lib/machines';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('importd failures with real machinectl', function () {
  const s = useImportStack();
  let work: string;
  let web: HttpFixture;
  let tarXz: Buffer;

  before(async () => {
    work = trackPath(mkdtempSync(join(tmpdir(), 'importd-faults-')));
    chmodSync(work, 0o755);
    const rootfs = await busyboxRootfs();
    const r = await run('bash', ['-c', `tar -C ${rootfs} --numeric-owner -cJf ${work}/busybox.tar.xz .`]);
    if (r.code !== 0) throw new Error(r.stderr);
    tarXz = readFileSync(join(work, 'busybox.tar.xz'));
    web = await startHttpFixture();
    web.routes.set('/bad/busybox.tar.xz', tarXz);
    web.routes.set('/bad/SHA256SUMS', `${'0'.repeat(64)}  busybox.tar.xz\n`);
    web.routes.set('/other/busybox.tar.xz', tarXz);
    web.routes.set('/other/SHA256SUMS', `${sha256(tarXz)}  something-else.tar.xz\n`);
    web.routes.set('/nosums/busybox.tar.xz', tarXz);
    web.routes.set('/error/busybox.tar.xz', (_req, res) => res.writeHead(500).end('boom\n'));
    web.routes.set('/reset/busybox.tar.xz', (_req, res) => {
      res.writeHead(200, { 'content-length': tarXz.length });
      res.write(tarXz.subarray(0, tarXz.length >> 1), () => setTimeout(() => res.socket?.destroy(), 50));
    });
  });
  after(async () => {
    await web?.close();
  });

  /** Runs machinectl, expects its transfer to fail with `message` and to leave nothing behind. */
  async function expectFailed(args: string[], local: string, message: string | RegExp, input?: Buffer): Promise<string> {
    const r = await s.machinectl(args, { input });
    const id = enqueuedId(r);
    expect(r.code, r.stderr).to.equal(1);
    if (typeof message === 'string') expect(r.stderr).to.contain(message);
    else expect(r.stderr).to.match(message);
    expect(await removedSignals(s, id)).to.deep.equal(['failed']);
    const logs = s.logMessages.signals.filter((m) => m.path === `/org/freedesktop/import1/transfer/_${id}`).map((m) => m.body[1] as string);
    expect(logs.join('\n')).to.satisfy((t: string) => (typeof message === 'string' ? t.includes(message) : message.test(t)));
    const entries = readdirSync(POOL);
    expect(entries.filter((e) => e === local || e === `${local}.raw`), 'image left in the pool').to.deep.equal([]);
    expect(entries.filter((e) => e.startsWith('.#')), 'temporary left in the pool').to.deep.equal([]);
    return r.stderr;
  }

  it('fails a pull whose SHA256SUMS line does not match', async () => {
    await expectFailed(['pull-tar', '--verify=checksum', `${web.base}/bad/busybox.tar.xz`, 'bad-sum'], 'bad-sum', `SHA256 checksum of ${web.base}/bad/busybox.tar.xz does not match`);
  });

  it('fails a pull whose SHA256SUMS has no line for the image', async () => {
    await expectFailed(['pull-tar', '--verify=checksum', `${web.base}/other/busybox.tar.xz`, 'other-sum'], 'other-sum', 'SHA256SUMS has no line for busybox.tar.xz');
  });

  it('fails a pull without SHA256SUMS beside the image, before downloading it', async () => {
    const before = web.requests.length;
    await expectFailed(['pull-tar', '--verify=checksum', `${web.base}/nosums/busybox.tar.xz`, 'no-sums'], 'no-sums', /Failed to retrieve SHA256SUMS .*code 404 \(Not Found\)/);
    expect(web.requests.slice(before)).to.deep.equal(['/nosums/SHA256SUMS']);
  });

  it('fails on HTTP 404 and 500 with the status in the message', async () => {
    await expectFailed(['pull-tar', '--verify=no', `${web.base}/missing/busybox.tar.xz`, 'http-404'], 'http-404', `HTTP request to ${web.base}/missing/busybox.tar.xz failed with code 404 (Not Found).`);
    await expectFailed(['pull-raw', '--verify=no', `${web.base}/error/busybox.tar.xz`, 'http-500'], 'http-500', 'failed with code 500 (Internal Server Error).');
  });

  it('fails when the connection is reset half-way', async () => {
    await expectFailed(['pull-tar', '--verify=no', `${web.base}/reset/busybox.tar.xz`, 'reset'], 'reset', /Download of .* failed|aborted|ECONNRESET/);
  });

  it('fails a pull from a port nobody listens on', async () => {
    await expectFailed(['pull-tar', '--verify=no', 'http://127.0.0.1:9/busybox.tar.xz', 'refused'], 'refused', /ECONNREFUSED/);
  });

  it('fails on a truncated archive, compressed or not', async () => {
    const half = tarXz.subarray(0, tarXz.length >> 1);
    writeFileSync(join(work, 'truncated.tar.xz'), half);
    await expectFailed(['import-tar', join(work, 'truncated.tar.xz'), 'truncated-xz'], 'truncated-xz', /xz exited with status 1/);
    const plain = await run('bash', ['-c', `xz -dc ${work}/busybox.tar.xz | head -c 300000 > ${work}/truncated.tar`]);
    expect(plain.code).to.equal(0);
    await expectFailed(['import-tar', join(work, 'truncated.tar'), 'truncated-tar'], 'truncated-tar', /tar exited with status 2/);
  });

  it('fails on data that is no archive at all', async () => {
    writeFileSync(join(work, 'garbage.tar'), randomBytes(100_000));
    await expectFailed(['import-tar', join(work, 'garbage.tar'), 'garbage'], 'garbage', /tar exited with status 2/);
  });

  it('fails on trailing garbage after the end of the archive', async () => {
    const plain = await run('bash', ['-c', `xz -dc ${work}/busybox.tar.xz > ${work}/trailing.tar && printf 'garbage after the end' >> ${work}/trailing.tar`]);
    expect(plain.code).to.equal(0);
    await expectFailed(['import-tar', join(work, 'trailing.tar'), 'trailing'], 'trailing', 'data after the end-of-archive marker');
  });

  it('refuses a broken qcow2 image with a clear message (good ones are converted: importd-extra.spec.ts)', async () => {
    const qcow = Buffer.alloc(4096);
    qcow.write('QFI\xfb', 0, 'latin1');
    writeFileSync(join(work, 'disk.qcow2'), qcow);
    await expectFailed(['import-raw', join(work, 'disk.qcow2'), 'qcow'], 'qcow', 'qcow2 version 0 is not supported (only 2 and 3).');
  });

  it('fails an https pull from a server whose certificate it cannot trust, naming the reason', async () => {
    const dir = join(work, 'tls');
    mkdirSync(dir);
    const gen = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    expect(gen.code, gen.stderr).to.equal(0);
    const server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end(tarXz));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      await expectFailed(['pull-tar', '--verify=no', `https://127.0.0.1:${port}/busybox.tar.xz`, 'tls'], 'tls', /Failed to retrieve https:\/\/127\.0\.0\.1:\d+\/busybox\.tar\.xz: self[- ]signed certificate/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('hostile archives', () => {
    it('refuses a member named ../NAME and writes nothing beside the temporary', async () => {
      const tar = await makeHostileTar(join(work, 'dotdot.tar'), 'dotdot', 'escaped-by-dotdot');
      await expectFailed(['import-tar', tar, 'dotdot'], 'dotdot', "Refusing hostile archive: member '../escaped-by-dotdot' contains a '..' component");
      expect(existsSync(join(POOL, 'escaped-by-dotdot'))).to.equal(false);
      // The same compressed, and pulled: the member check sits behind the decompressor too.
      await run('xz', ['-k', tar]);
      await expectFailed(['import-tar', `${tar}.xz`, 'dotdot-xz'], 'dotdot-xz', "Refusing hostile archive: member '../escaped-by-dotdot'");
      web.routes.set('/hostile/dotdot.tar.xz', readFileSync(`${tar}.xz`));
      await expectFailed(['pull-tar', '--verify=no', `${web.base}/hostile/dotdot.tar.xz`, 'dotdot-pull'], 'dotdot-pull', "Refusing hostile archive: member '../escaped-by-dotdot'");
      expect(existsSync(join(POOL, 'escaped-by-dotdot'))).to.equal(false);
    });

    it('refuses a member with an absolute path and writes nothing there', async () => {
      const target = join(work, 'escaped-absolute');
      const tar = await makeHostileTar(join(work, 'absolute.tar'), 'absolute', target);
      await expectFailed(['import-tar', tar, 'absolute'], 'absolute', `Refusing hostile archive: member '${target}' is an absolute path`);
      expect(existsSync(target)).to.equal(false);
    });

    it('never writes through a symlink that points outside', async () => {
      const outside = join(work, 'outside');
      mkdirSync(outside);
      const tar = await makeHostileTar(join(work, 'symlink.tar'), 'symlink', outside);
      await expectFailed(['import-tar', tar, 'symlink'], 'symlink', /tar exited with status 2|Refusing hostile archive/);
      expect(readdirSync(outside)).to.deep.equal([]);
    });

    it('refuses a hard link to /etc/passwd', async () => {
      const links = statSync('/etc/passwd').nlink;
      const tar = await makeHostileTar(join(work, 'hardlink.tar'), 'hardlink', '/etc/passwd');
      await expectFailed(['import-tar', tar, 'hardlink'], 'hardlink', "Refusing hostile archive: hard link 'passwd-link' points to '/etc/passwd', which is an absolute path");
      expect(statSync('/etc/passwd').nlink).to.equal(links);
    });
  });

  describe('archives that strain the extractor', () => {
    it('handles a member with a 5000 character path without leaving anything half-done', async () => {
      const tar = await makeHostileTar(join(work, 'longpath.tar'), 'longpath', 'deep-file');
      const r = await s.machinectl(['import-tar', tar, 'longpath']);
      const id = enqueuedId(r);
      const [result] = await removedSignals(s, id);
      expect(readdirSync(POOL).filter((e) => e.startsWith('.#')), 'temporary left').to.deep.equal([]);
      if (result === 'done') {
        const found = await run('find', [join(POOL, 'longpath'), '-name', 'deep-file']);
        expect(found.stdout.trim().length).to.be.greaterThan(4900);
      } else {
        expect(result).to.equal('failed');
        expect(existsSync(join(POOL, 'longpath'))).to.equal(false);
      }
    });

    it('imports 100 000 empty files', async function () {
      this.timeout(180000);
      const tar = await makeHostileTar(join(work, 'many.tar'), 'manyfiles', '100000');
      const r = await s.machinectl(['import-tar', tar, 'many'], { timeoutMs: 170000 });
      expect(r.code, r.stderr).to.equal(0);
      expect(await removedSignals(s, enqueuedId(r))).to.deep.equal(['done']);
      expect(readdirSync(join(POOL, 'many/many'))).to.have.length(100000);
    });
  });

  describe('as nobody', () => {
    it('refuses every import, export, pull and cancel with AccessDenied', async () => {
      const outDir = join(work, 'nobody-out');
      mkdirSync(outDir);
      chmodSync(outDir, 0o777);
      const imported = await s.machinectl(['import-tar', join(work, 'busybox.tar.xz'), 'nobody-src']);
      expect(imported.code, imported.stderr).to.equal(0);
      const calls: string[][] = [
        ['import-tar', join(work, 'busybox.tar.xz'), 'nobody-tar'],
        ['import-raw', join(work, 'busybox.tar.xz'), 'nobody-raw'],
        ['import-fs', work, 'nobody-fs'],
        ['export-tar', 'nobody-src', join(outDir, 'x.tar')],
        ['export-raw', 'nobody-src', join(outDir, 'x.raw')],
        ['pull-tar', '--verify=no', `${web.base}/bad/busybox.tar.xz`, 'nobody-pull'],
        ['pull-raw', '--verify=no', `${web.base}/bad/busybox.tar.xz`, 'nobody-pull-raw'],
        ['cancel-transfer', '1'],
      ];
      const transfersBefore = s.transferNew.signals.length;
      for (const args of calls) {
        const r = await s.machinectl(args, { asNobody: true });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(1);
        expect(r.stderr, args.join(' ')).to.match(/Access denied/);
      }
      expect(s.transferNew.signals.length, 'a transfer was started for nobody').to.equal(transfersBefore);
      expect(readdirSync(POOL).filter((e) => e.startsWith('nobody-') && e !== 'nobody-src')).to.deep.equal([]);
      // Looking is allowed to everyone.
      const list = await s.machinectl(['list-transfers'], { asNobody: true });
      expect(list.code, list.stderr).to.equal(0);
    });
  });
});
