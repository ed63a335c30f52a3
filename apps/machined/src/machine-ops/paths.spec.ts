import { expect } from 'chai';
import { ErrorNames } from '@machined/protocol';
import { checkBindPaths, checkCopyPaths, fileNameOf, pathIsNormalized } from './paths.js';
import { parseCopyFlags } from './copy.js';

const fails = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return { name: (e as { errorName: string }).errorName, message: (e as Error).message };
  }
  throw new Error('expected a failure');
};

describe('copy and bind-mount arguments', () => {
  it('defaults the destination to the source and tells host from container side', () => {
    expect(checkCopyPaths('to', '/etc/hostname', '')).to.deep.equal({
      source: '/etc/hostname',
      destination: '/etc/hostname',
      hostPath: '/etc/hostname',
      containerPath: '/etc/hostname',
    });
    expect(checkCopyPaths('from', '/etc/os-release', '/srv/x')).to.include({ hostPath: '/srv/x', containerPath: '/etc/os-release' });
  });

  it('refuses relative paths and `..` on the container side with upstream messages', () => {
    expect(fails(() => checkCopyPaths('to', 'rel', '/x'))).to.deep.equal({ name: ErrorNames.InvalidArgs, message: 'Source path must be absolute.' });
    expect(fails(() => checkCopyPaths('to', '/x', 'rel'))).to.deep.equal({ name: ErrorNames.InvalidArgs, message: 'Destination path must be absolute.' });
    expect(fails(() => checkCopyPaths('to', '/x', '/srv/../../etc/x')).message).to.equal('Destination path must be absolute and normalized.');
    expect(fails(() => checkCopyPaths('from', '/../etc/shadow', '/tmp/x')).message).to.equal('Source path must be absolute and normalized.');
    // `..` on the host side is the caller's own business (root's, or polkit-authorized).
    expect(checkCopyPaths('to', '/srv/../etc/hostname', '/etc/hostname').hostPath).to.equal('/srv/../etc/hostname');
    expect(fails(() => checkCopyPaths('to', '/', '/srv')).name).to.equal(ErrorNames.InvalidArgs);
  });

  it('checks bind paths as path_is_normalized()', () => {
    expect(checkBindPaths('/srv', '')).to.deep.equal({ source: '/srv', destination: '/srv' });
    expect(fails(() => checkBindPaths('/srv/./x', '/mnt')).message).to.equal('Source path must be absolute and normalized.');
    expect(fails(() => checkBindPaths('/srv', '/mnt//x')).message).to.equal('Destination path must be absolute and normalized.');
    expect(fails(() => checkBindPaths('/srv', 'mnt')).message).to.equal('Destination path must be absolute and normalized.');
    expect(pathIsNormalized('/a/b/')).to.equal(true);
    expect(fileNameOf('/a/b/')).to.equal('b');
    expect(fileNameOf('/')).to.equal(null);
  });

  it('accepts flag 1 (replace) only', () => {
    expect(parseCopyFlags(0n)).to.equal(false);
    expect(parseCopyFlags(1n)).to.equal(true);
    expect(fails(() => parseCopyFlags(2n)).name).to.equal(ErrorNames.InvalidArgs);
    expect(fails(() => parseCopyFlags(1n << 63n)).name).to.equal(ErrorNames.InvalidArgs);
  });
});
