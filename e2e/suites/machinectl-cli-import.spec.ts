/**
 * Our machinectl's image transfer verbs against our importd, beside Debian's real machinectl:
 * import-tar, import-fs and export-tar pass a file descriptor over the bus; pull-tar downloads from
 * a loopback HTTP fixture; each follows its transfer to the end (LogMessage lines, TransferRemoved)
 * and leaves an image both clients then list and show the same way.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MACHINECTL_ENTRY, run, trackPath, type RunResult } from '../support/index.js';
import { startHttpFixture, type HttpFixture } from '../support/http-fixture.js';
import { useImportStack } from '../support/importd-process.js';

const OURS = MACHINECTL_ENTRY;

describe('our machinectl: image transfers through importd', function () {
  const stack = useImportStack();
  let work: string;
  let tarball: string;
  let http: HttpFixture;
  const env = () => ({ DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0', NODE_EXTRA_CA_CERTS: undefined, TZ: 'UTC' });
  const ours = (...args: string[]): Promise<RunResult> => run(process.execPath, [OURS, '--no-pager', ...args], { env: env(), timeoutMs: 60000 });
  const real = (...args: string[]): Promise<RunResult> => run('machinectl', ['--no-pager', ...args], { env: env(), timeoutMs: 60000 });
  /** Transfer ids and image names differ between the two runs; the shape must not. */
  const shape = (s: string, name: string) => s.replace(/job \d+/g, 'job N').replaceAll(name, 'NAME');

  before(async () => {
    work = trackPath(mkdtempSync(join(tmpdir(), 'machinectl-cli-import-')));
    const root = join(work, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/os-release'), 'ID=e2e\nPRETTY_NAME="E2E Linux"\n');
    writeFileSync(join(root, 'etc/hostname'), 'e2ehost\n');
    tarball = join(work, 'img.tar');
    execFileSync('tar', ['-C', root, '-cf', tarball, '.']);
    http = await startHttpFixture();
    http.routes.set('/img.tar', readFileSync(tarball));
  });
  after(async () => {
    await http?.close();
  });

  it('import-tar and import-fs: same messages as upstream, exit 0, the image in the pool', async () => {
    const o = await ours('import-tar', tarball, 'ours-tar');
    const r = await real('import-tar', tarball, 'real-tar');
    expect(o.code, o.stderr).to.equal(0);
    expect(r.code, r.stderr).to.equal(0);
    expect(shape(o.stderr, 'ours-tar')).to.equal(shape(r.stderr, 'real-tar'));
    expect(o.stderr).to.match(/^Enqueued transfer job \d+\. Press C-c to continue download in background\.\n/);
    const fs = await ours('import-fs', join(work, 'root'), 'ours-fs');
    expect(fs.code, fs.stderr).to.equal(0);
  });

  it('export-tar writes the archive through the passed descriptor', async () => {
    const out = join(work, 'ours.tar.xz');
    const o = await ours('export-tar', 'ours-tar', out);
    expect(o.code, o.stderr).to.equal(0);
    const listing = execFileSync('tar', ['-tJf', out], { encoding: 'utf8' });
    expect(listing).to.match(/etc\/os-release/);
  });

  it('pull-tar downloads, follows the transfer and exits 0', async () => {
    const o = await ours('pull-tar', '--verify=no', `${http.base}/img.tar`, 'ours-pull');
    const r = await real('pull-tar', '--verify=no', `${http.base}/img.tar`, 'real-pull');
    expect(o.code, o.stderr).to.equal(0);
    expect(r.code, r.stderr).to.equal(0);
    expect(shape(o.stderr, 'ours-pull')).to.equal(shape(r.stderr, 'real-pull'));
    const missing = await ours('pull-tar', '--verify=no', `${http.base}/missing.tar`, 'ours-missing');
    expect(missing.code).to.equal(1);
  });

  it('list-images, image-status and show-image print what upstream prints for the pool', async () => {
    for (const args of [['list-images'], ['list-images', '--all'], ['image-status', 'ours-tar'], ['show-image', 'ours-tar'], ['list-transfers']]) {
      const [o, r] = await Promise.all([ours(...args), real(...args)]);
      const norm = (s: string) => s.replace(/^(\t(?: Created|Modified): [^;\n]+); .+$/gm, '$1; <relative>');
      expect(norm(o.stdout), args.join(' ')).to.equal(norm(r.stdout));
      expect(o.stderr, args.join(' ')).to.equal(r.stderr);
      expect(o.code, args.join(' ')).to.equal(r.code);
      if (args[0] === 'list-images' && o.code === 0) expect(o.stdout).to.match(/^ours-tar +directory +no /m);
      if (args[0] === 'image-status' && o.code === 0) expect(o.stdout).to.match(/^ours-tar\n\t    Type: directory\n/);
    }
  });
});
