/**
 * importd with the image pool on btrfs (a file system on a sparse file, loop-mounted over the
 * namespace's /var/lib/machines, as in images-btrfs.spec.ts), through Debian's real machinectl:
 * import-tar, import-fs and pull-tar build each image in a subvolume, as upstream's importers do
 * (btrfs_subvol_make_fallback); --read-only sets the subvolume's read-only property; an archive
 * with one top-level OS directory still gives a subvolume (the tree moved up into it); with quota
 * on, the image gets upstream's automatic qgroups; a failed import leaves no subvolume; and a
 * (read-only) subvolume temporary left by a killed importd is deleted when importd starts.
 */
import { expect } from 'chai';
import { btrfs, btrfsPoolMounted, isSubvolume, roProperty, useBtrfsPool } from '../support/btrfs-pool.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfs, run, trackPath, waitUntil } from '../support/index.js';
import { startHttpFixture, type HttpFixture } from '../support/http-fixture.js';
import { treeManifest } from '../support/image-trees.js';
import { enqueuedId, removedSignals, startImportd, useImportStack } from '../support/importd-process.js';

const POOL = '/var/lib/machines';
const IMPORT1 = 'org.freedesktop.import1';
const MANAGER = 'org.freedesktop.import1.Manager';

/** `btrfs subvolume show` succeeds only on a subvolume; returns its output. */
const subvolumeShow = (p: string) => btrfs('subvolume', 'show', p);
/** Paths (relative to the file system's top) of every subvolume on the pool's file system. */
const subvolumes = () =>
  btrfs('subvolume', 'list', '-o', POOL)
    .split('\n')
    .map((l) => / path (.*)$/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined);
const temporaries = () => readdirSync(POOL).filter((e) => e.startsWith('.#'));


async function sh(cmd: string): Promise<void> {
  const r = await run('bash', ['-euo', 'pipefail', '-c', cmd], { timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

describe('importd with the pool on btrfs', function () {
  this.timeout(180000);
  useBtrfsPool('importd-e2e');

  describe('through machinectl', () => {
    // Defined before the stack's own clean-up, so it runs first: that one cannot rm a read-only subvolume.
    after(async () => {
      if (!btrfsPoolMounted()) return;
      for (const e of readdirSync(POOL)) {
        const p = join(POOL, e);
        if (!isSubvolume(p)) continue;
        await run('btrfs', ['property', 'set', '-ts', p, 'ro', 'false']);
        await run('btrfs', ['subvolume', 'delete', p]);
      }
    });
    const s = useImportStack();
    let work = '';
    let rootfs = '';
    let tree = '';
    let web: HttpFixture;

    before(async () => {
      expect(btrfsPoolMounted(), 'btrfs mounted on the pool').to.equal(true);
      work = trackPath(mkdtempSync(join(tmpdir(), 'importd-btrfs-')));
      rootfs = await busyboxRootfs();
      await sh(`tar -C ${rootfs} --numeric-owner -cJf ${work}/busybox.tar.xz .`);
      // Member names get the prefix, symlink targets (S) keep theirs.
      await sh(`tar -C ${rootfs} --numeric-owner --transform 's,^\\./*,rootfs/,S' -cJf ${work}/wrapped.tar.xz .`);
      // A tar.xz cut short: xz fails half-way, after tar has written some files.
      const whole = readFileSync(join(work, 'busybox.tar.xz'));
      writeFileSync(join(work, 'broken.tar.xz'), whole.subarray(0, Math.floor(whole.length / 2)));
      tree = join(work, 'tree');
      await sh(`mkdir -p ${tree}/etc && printf 'ID=e2e\\n' > ${tree}/etc/os-release && printf 'fs\\n' > ${tree}/etc/hostname`);
      web = await startHttpFixture();
      web.routes.set('/img/busybox.tar.xz', whole);
      web.routes.set('/img/wrapped.tar.xz', readFileSync(join(work, 'wrapped.tar.xz')));
    });
    after(async () => {
      await web?.close();
    });

    async function expectDone(r: Awaited<ReturnType<typeof s.machinectl>>): Promise<void> {
      const id = enqueuedId(r);
      expect(r.code, r.stderr).to.equal(0);
      expect(await removedSignals(s, id)).to.deep.equal(['done']);
      expect(temporaries()).to.deep.equal([]);
    }

    /** The image row of real machinectl's list-images: NAME TYPE RO … */
    async function listed(name: string): Promise<string[]> {
      const r = await s.machinectl(['list-images', '--all']);
      expect(r.code, r.stderr).to.equal(0);
      const line = r.stdout.split('\n').find((l) => l.split(/\s+/)[0] === name);
      expect(line, `${name} in list-images:\n${r.stdout}`).to.not.equal(undefined);
      return line!.split(/\s+/);
    }

    it('import-tar creates the image as a writable subvolume, listed with type subvolume', async () => {
      await expectDone(await s.machinectl(['import-tar', join(work, 'busybox.tar.xz'), 'bt-tar']));
      const p = join(POOL, 'bt-tar');
      expect(isSubvolume(p)).to.equal(true);
      expect(subvolumeShow(p)).to.match(/^\s*Name:\s+bt-tar$/m);
      expect(roProperty(p)).to.equal('ro=false');
      expect(await treeManifest(p)).to.deep.equal(await treeManifest(rootfs));
      expect((await listed('bt-tar')).slice(0, 3)).to.deep.equal(['bt-tar', 'subvolume', 'no']);
    });

    it('import-tar --read-only sets the subvolume read-only property (not the immutable flag)', async () => {
      await expectDone(await s.machinectl(['import-tar', '--read-only', join(work, 'busybox.tar.xz'), 'bt-ro']));
      const p = join(POOL, 'bt-ro');
      expect(isSubvolume(p)).to.equal(true);
      expect(roProperty(p)).to.equal('ro=true');
      expect(subvolumeShow(p)).to.match(/^\s*Flags:\s+readonly$/m);
      expect((await run('lsattr', ['-d', p])).stdout.split(/\s+/)[0]).to.not.contain('i');
      expect((await listed('bt-ro')).slice(0, 3)).to.deep.equal(['bt-ro', 'subvolume', 'yes']);
      // --force over a read-only subvolume image replaces it.
      await expectDone(await s.machinectl(['import-tar', '--force', join(work, 'busybox.tar.xz'), 'bt-ro']));
      expect(roProperty(p)).to.equal('ro=false');
    });

    it('a tarball with one top-level OS directory still gives a subvolume, the tree moved up into it', async () => {
      await expectDone(await s.machinectl(['import-tar', join(work, 'wrapped.tar.xz'), 'bt-wrapped']));
      const p = join(POOL, 'bt-wrapped');
      expect(isSubvolume(p)).to.equal(true);
      expect(await treeManifest(p)).to.deep.equal(await treeManifest(rootfs));
    });

    it('import-fs creates a subvolume, read-only with --read-only', async () => {
      await expectDone(await s.machinectl(['import-fs', tree, 'bt-fs']));
      expect(isSubvolume(join(POOL, 'bt-fs'))).to.equal(true);
      expect(readFileSync(join(POOL, 'bt-fs/etc/hostname'), 'utf8')).to.equal('fs\n');
      expect((await listed('bt-fs')).slice(0, 3)).to.deep.equal(['bt-fs', 'subvolume', 'no']);
      await expectDone(await s.machinectl(['import-fs', '--read-only', tree, 'bt-fs-ro']));
      expect(isSubvolume(join(POOL, 'bt-fs-ro'))).to.equal(true);
      expect(roProperty(join(POOL, 'bt-fs-ro'))).to.equal('ro=true');
      expect((await listed('bt-fs-ro')).slice(0, 3)).to.deep.equal(['bt-fs-ro', 'subvolume', 'yes']);
    });

    it('pull-tar creates a subvolume; PullTarEx read_only|keep_download gives read-only subvolumes for the download and the image', async () => {
      await expectDone(await s.machinectl(['pull-tar', '--verify=no', `${web.base}/img/busybox.tar.xz`, 'bt-pull']));
      expect(isSubvolume(join(POOL, 'bt-pull'))).to.equal(true);
      expect(await treeManifest(join(POOL, 'bt-pull'))).to.deep.equal(await treeManifest(rootfs));
      expect((await listed('bt-pull')).slice(0, 3)).to.deep.equal(['bt-pull', 'subvolume', 'no']);
      // 252's machinectl has no --read-only for pulls: the *Ex call takes the flags (read_only 2, keep_download 4).
      const [id] = await s.client.call(IMPORT1, '/org/freedesktop/import1', MANAGER, 'PullTarEx', 'sssst', [`${web.base}/img/wrapped.tar.xz`, 'bt-pull-ro', 'machine', 'no', 6n]);
      expect(await removedSignals(s, id as number)).to.deep.equal(['done']);
      expect(temporaries()).to.deep.equal([]);
      const p = join(POOL, 'bt-pull-ro');
      expect(isSubvolume(p)).to.equal(true);
      expect(roProperty(p)).to.equal('ro=true');
      expect(await treeManifest(p)).to.deep.equal(await treeManifest(rootfs));
      const kept = readdirSync(POOL).filter((e) => e.startsWith('.tar-'));
      expect(kept).to.have.length(1);
      expect(isSubvolume(join(POOL, kept[0]!))).to.equal(true);
      expect(roProperty(join(POOL, kept[0]!))).to.equal('ro=true');
    });

    it('a failed import leaves no subvolume and no temporary behind', async () => {
      const before = subvolumes();
      const r = await s.machinectl(['import-tar', join(work, 'broken.tar.xz'), 'bt-broken']);
      const id = enqueuedId(r);
      expect(r.code).to.not.equal(0);
      expect(await removedSignals(s, id)).to.deep.equal(['failed']);
      expect(existsSync(join(POOL, 'bt-broken'))).to.equal(false);
      expect(temporaries()).to.deep.equal([]);
      // A deleted subvolume may linger in the list until the cleaner has run; wait for it.
      await waitUntil(async () => subvolumes().length === before.length, 'no new subvolume', 20000);
      expect(subvolumes()).to.deep.equal(before);
    });

    it('with quota on, an imported image gets upstream\'s automatic qgroups (0/ID inside L/ID inside the pool\'s 255/5)', async () => {
      btrfs('quota', 'enable', POOL);
      await run('btrfs', ['quota', 'rescan', '-w', POOL]);
      await expectDone(await s.machinectl(['import-fs', tree, 'bt-quota']));
      const p = join(POOL, 'bt-quota');
      expect(isSubvolume(p)).to.equal(true);
      const id = btrfs('inspect-internal', 'rootid', p).trim();
      const table = btrfs('qgroup', 'show', '-pcre', '--raw', POOL);
      const parents = (q: string) => table.split('\n').find((l) => l.trim().split(/\s+/)[0] === q)?.trim().split(/\s+/)[5]?.split(',') ?? [];
      // The pool (the top subvolume, 5) gets 255/5; the image one level below it, L/ID, holding 0/ID.
      expect(parents('0/5'), table).to.include('255/5');
      const mine = parents(`0/${id}`);
      expect(mine, table).to.have.length(1);
      expect(mine[0], table).to.match(new RegExp(`^\\d+/${id}$`));
      expect(parents(mine[0]!), table).to.include('255/5');
    });

    it('a read-only subvolume temporary left by a killed importd is deleted when importd starts', async () => {
      const stale = join(POOL, '.#import-stale-0123456789abcdef');
      btrfs('subvolume', 'create', stale);
      writeFileSync(join(stale, 'half'), 'written\n');
      btrfs('property', 'set', '-ts', stale, 'ro', 'true');
      await s.importd.stop();
      s.importd = await startImportd({ busAddress: s.bus.address, runtimeDir: s.machined.runtimeDir });
      // The clean-up follows taking the bus name, which is what "started" waits for.
      await waitUntil(async () => !existsSync(stale), 'the stale temporary to be deleted', 20000);
      expect(temporaries()).to.deep.equal([]);
    });
  });
});
