/**
 * importd's `signature` verification with Debian's machinectl 252 (the default mode of pull-tar):
 * SHA256SUMS.gpg checked by gpg against the import keyring (a test key here, given with
 * --keyring), and a bad or missing signature failing the pull. Also: importd killed with SIGKILL
 * in the middle of a transfer, then restarted, leaves no temporary behind.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfs, run, track, trackPath, waitUntil } from '../support/index.js';
import { startHttpFixture, type HttpFixture } from '../support/http-fixture.js';
import { enqueuedId, removedSignals, startImportd, useImportStack } from '../support/importd-process.js';

const POOL = '/var/lib/machines';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function sh(cmd: string): Promise<string> {
  const r = await run('bash', ['-euo', 'pipefail', '-c', cmd], { timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}

describe('importd signature verification and restarts', function () {
  // Named now (importd gets the keyring path when it starts), made in before(): paths tracked at
  // load time would be swept by the cleanup of suites that run earlier.
  const work = join(tmpdir(), `importd-sig-${randomBytes(6).toString('hex')}`);
  const keyring = join(work, 'import-pubring.gpg');
  const s = useImportStack({ keyring });
  const gpgHome = join(work, 'gnupg');
  let web: HttpFixture;

  before(async () => {
    mkdirSync(trackPath(work), { mode: 0o755 });
    chmodSync(work, 0o755);
    mkdirSync(gpgHome, { mode: 0o700 });
    const gpg = `gpg --homedir ${gpgHome} --batch --passphrase ''`;
    await sh(`${gpg} --quick-gen-key 'importd e2e <e2e@example.invalid>' ed25519 sign never`);
    await sh(`${gpg} --export > ${keyring}`);
    const rootfs = await busyboxRootfs();
    await sh(`tar -C ${rootfs} --numeric-owner -cJf ${work}/busybox.tar.xz .`);
    const image = readFileSync(join(work, 'busybox.tar.xz'));
    writeFileSync(join(work, 'SHA256SUMS'), `${sha256(image)}  busybox.tar.xz\n`);
    await sh(`${gpg} --detach-sign -o ${work}/SHA256SUMS.gpg ${work}/SHA256SUMS`);
    // A signature by the same key over other content: a BAD signature for our SHA256SUMS.
    writeFileSync(join(work, 'other'), 'something else\n');
    await sh(`${gpg} --detach-sign -o ${work}/other.gpg ${work}/other`);
    web = await startHttpFixture();
    for (const dir of ['good', 'bad', 'unsigned']) {
      web.routes.set(`/${dir}/busybox.tar.xz`, image);
      web.routes.set(`/${dir}/SHA256SUMS`, readFileSync(join(work, 'SHA256SUMS')));
    }
    web.routes.set('/good/SHA256SUMS.gpg', readFileSync(join(work, 'SHA256SUMS.gpg')));
    web.routes.set('/bad/SHA256SUMS.gpg', readFileSync(join(work, 'other.gpg')));
  });
  after(async () => {
    await web?.close();
    await run('gpgconf', ['--homedir', gpgHome, '--kill', 'all']);
  });

  it('pulls with the default verification (signature) when SHA256SUMS.gpg is good', async () => {
    const r = await s.machinectl(['pull-tar', `${web.base}/good/busybox.tar.xz`, 'signed']);
    const id = enqueuedId(r);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain('Signature of SHA256SUMS is valid');
    expect(await removedSignals(s, id)).to.deep.equal(['done']);
    expect(existsSync(join(POOL, 'signed/bin/busybox'))).to.equal(true);
  });

  for (const [dir, message] of [
    ['bad', /Signature verification of SHA256SUMS failed: BAD signature/],
    ['unsigned', /Failed to retrieve SHA256SUMS.gpg .*code 404/],
  ] as const) {
    it(`fails a pull whose signature is ${dir === 'bad' ? 'bad' : 'missing'}, leaving nothing`, async () => {
      const local = `sig-${dir}`;
      const r = await s.machinectl(['pull-tar', '--verify=signature', `${web.base}/${dir}/busybox.tar.xz`, local]);
      const id = enqueuedId(r);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(message);
      expect(await removedSignals(s, id)).to.deep.equal(['failed']);
      expect(readdirSync(POOL).filter((e) => e === local || e.startsWith('.#'))).to.deep.equal([]);
    });
  }

  it('removes the temporary of a transfer cut short by SIGKILL when it starts again', async () => {
    const head = readFileSync(join(work, 'busybox.tar.xz')).subarray(0, 128 << 10);
    web.routes.set('/stall/busybox.tar.xz', (_req, res) => {
      res.writeHead(200, { 'content-length': 10 << 20 });
      res.write(head);
    });
    // Spawned by hand to be interrupted by pid: machinectl waits for a TransferRemoved that a
    // killed importd never sends (upstream behaves the same), until Ctrl-C detaches it.
    const machinectl = track(
      spawn('machinectl', ['--no-pager', 'pull-tar', '--verify=no', `${web.base}/stall/busybox.tar.xz`, 'killed'], {
        env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: s.bus.address },
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    let stderr = '';
    machinectl.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const pulling = new Promise<number | null>((resolve) => machinectl.once('close', (code) => resolve(code)));
    await waitUntil(() => readdirSync(POOL).some((e) => e.startsWith('.#import-killed-')), 'the temporary of the stalled pull');
    await s.importd.kill9();
    // machinectl keeps waiting for a TransferRemoved that will never come: upstream's behaviour too.
    s.importd = await startImportd({ busAddress: s.bus.address, runtimeDir: s.machined.runtimeDir, keyring });
    // The sweep runs right after importd owns its name (what startImportd waits for).
    await waitUntil(() => s.importd.logs().some((l) => /Removed 1 stale temporary image/.test(l)), 'the stale temporary removed');
    expect(readdirSync(POOL).filter((e) => e.startsWith('.#') || e === 'killed')).to.deep.equal([]);
    const r = await s.machinectl(['pull-tar', '--verify=signature', `${web.base}/good/busybox.tar.xz`, 'after-restart']);
    expect(r.code, r.stderr).to.equal(0);
    machinectl.kill('SIGINT');
    await pulling;
    expect(stderr).to.contain('Continuing download in the background.');
  });
});
