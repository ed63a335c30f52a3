/**
 * A btrfs image pool for a suite: a file system on a 512M sparse file, loop-mounted over the test
 * namespace's /var/lib/machines (a private tmpfs, so the host's pool is never touched), unmounted
 * and its loop device detached after the suite, also when it failed half-way.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run-command.js';
import { trackPath } from './cleanup.js';
import { waitUntil } from './machines.js';

export const BTRFS_POOL = '/var/lib/machines';

/** btrfs-progs, its warnings (e.g. "qgroup data inconsistent" while a rescan runs) kept off the report. */
export const btrfs = (...args: string[]): string => execFileSync('btrfs', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
/** A subvolume's top directory has inode 256 on btrfs. */
export const isSubvolume = (p: string): boolean => existsSync(p) && statSync(p).ino === 256;
export const roProperty = (p: string): string => btrfs('property', 'get', '-ts', p, 'ro').trim();
export const btrfsPoolMounted = (): boolean =>
  readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === BTRFS_POOL && / - btrfs /.test(l));

function inPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, cmd)));
}

/** Registers the before/after hooks of the current describe() that put btrfs over the pool. */
export function useBtrfsPool(label: string): void {
  let backing = '';

  before(() => {
    if (!inPath('mkfs.btrfs') || !inPath('btrfs')) throw new Error('btrfs-progs is not installed (apt-get install btrfs-progs)');
    backing = join(trackPath(mkdtempSync(join(tmpdir(), `${label}-btrfs-`))), 'pool.img');
    execFileSync('truncate', ['-s', '512M', backing]);
    execFileSync('mkfs.btrfs', ['-q', backing]);
    execFileSync('mount', ['-o', 'loop', backing, BTRFS_POOL]);
  });

  after(async () => {
    // Also after a failure half-way: the mount goes, and with it (autoclear) the loop device.
    if (btrfsPoolMounted()) {
      const r = await run('umount', [BTRFS_POOL]);
      if (r.code !== 0) await run('umount', ['--lazy', BTRFS_POOL]);
    }
    if (backing === '') return;
    const attached = async () => (await run('losetup', ['-j', backing])).stdout.trim();
    try {
      await waitUntil(async () => (await attached()) === '', 'the loop device to be detached', 10000);
    } finally {
      for (const line of (await attached()).split('\n').filter(Boolean)) await run('losetup', ['-d', line.slice(0, line.indexOf(':'))]);
    }
    expect(await attached()).to.equal('');
  });
}
