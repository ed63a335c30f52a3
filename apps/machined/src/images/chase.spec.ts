import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChaseError, chaseInRoot, readFileInRoot } from './chase.js';

describe('chaseInRoot / readFileInRoot', () => {
  let outside: string;
  let root: string;

  before(() => {
    outside = mkdtempSync(join(tmpdir(), 'machined-chase-'));
    writeFileSync(join(outside, 'secret'), 'host secret\n');
    root = join(outside, 'image');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'usr/lib'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/os-release'), 'ID=inside\n');
    writeFileSync(join(root, 'secret'), 'image secret\n');
    symlinkSync('/usr/lib/os-release', join(root, 'etc/os-release'));
    symlinkSync('../../../../../secret', join(root, 'etc/dotdot'));
    symlinkSync(join(outside, 'secret'), join(root, 'etc/absolute-host-path'));
    symlinkSync('loop-b', join(root, 'etc/loop-a'));
    symlinkSync('loop-a', join(root, 'etc/loop-b'));
    symlinkSync('/etc', join(root, 'etc-link'));
  });

  after(() => rmSync(outside, { recursive: true, force: true }));

  it('resolves absolute symlinks against the image root', async () => {
    expect(await readFileInRoot(root, '/etc/os-release')).to.equal('ID=inside\n');
    expect(await chaseInRoot(root, '/etc-link/os-release')).to.equal(`${root}/usr/lib/os-release`);
  });

  it('never climbs above the root through ..', async () => {
    expect(await readFileInRoot(root, '/etc/dotdot')).to.equal('image secret\n');
    expect(await readFileInRoot(root, '/../../secret')).to.equal('image secret\n');
  });

  it('treats a host path in a symlink as a path inside the image', async () => {
    expect(await readFileInRoot(root, '/etc/absolute-host-path')).to.equal(null);
  });

  it('answers null for missing files and refuses symlink loops', async () => {
    expect(await readFileInRoot(root, '/etc/hostname')).to.equal(null);
    expect(await readFileInRoot(root, '/etc/os-release/x')).to.equal(null);
    let err: unknown;
    try {
      await chaseInRoot(root, '/etc/loop-a');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ChaseError);
  });
});
