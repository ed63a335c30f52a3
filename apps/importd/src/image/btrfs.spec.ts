import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canMakeSubvolumes, isSubvolume } from './btrfs.js';

describe('btrfs: pools off btrfs stay plain directories', () => {
  it('a directory on a non-btrfs file system is neither a subvolume nor a place for them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'importd-btrfs-spec-'));
    try {
      // The unit tests' tmpdir is not btrfs here; the e2e suite importd-btrfs covers a real one.
      expect(await canMakeSubvolumes(dir)).to.equal(false);
      expect(await isSubvolume(dir)).to.equal(false);
      expect(await isSubvolume(join(dir, 'missing'))).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
