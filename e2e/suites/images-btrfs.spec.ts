/**
 * The image pool on btrfs, through Debian's real machinectl: a btrfs file system made on a sparse
 * file and loop-mounted over the namespace's /var/lib/machines, with a subvolume image (busybox,
 * holding a nested subvolume) and a plain directory image. Subvolumes are listed as such; clone
 * is a (recursive) snapshot, read-only when asked; read-only toggles the subvolume's flag;
 * set-limit works with btrfs quota groups as upstream's (the pool limit switches quota on, an
 * image limit needs it on); rename and remove handle subvolumes, nested ones included.
 */
import { expect } from 'chai';
import { btrfs, btrfsPoolMounted, isSubvolume, roProperty, useBtrfsPool } from '../support/btrfs-pool.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  busyboxRootfs,
  callManager,
  copyBusyboxRootfs,
  errorOf,
  parseShowOutput,
  run,
  startMachined,
  startPrivateBus,
  trackPath,
  useStack,
  waitUntil,
} from '../support/index.js';

const POOL = '/var/lib/machines';
const UINT64_MAX = 18446744073709551615n;
const SUB = 'e2e-sub';
const PLAIN = 'e2e-plain';
/** Inside SUB: a nested subvolume, which clone and remove must handle as upstream's recursive ones. */
const NESTED = 'var/e2e-nested';

type ImageRow = [string, string, boolean, bigint, bigint, bigint, string];

/** `btrfs subvolume show`'s field, e.g. UUID, Parent UUID, Flags. */
const subvolField = (p: string, field: string) => new RegExp(`^\\s*${field}:\\s*(.*)$`, 'm').exec(btrfs('subvolume', 'show', p))?.[1]?.trim();

describe('image pool on btrfs', function () {
  this.timeout(180000);
  useBtrfsPool('machined-e2e');

  describe('through machinectl', () => {
    const stack = useStack();
    const env = () => ({ DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0' });
    const machinectl = (...args: string[]) => run('machinectl', ['--no-pager', '--no-ask-password', ...args], { env: env(), timeoutMs: 120000 });
    const listImages = async () => (await callManager(stack.client, 'ListImages', []))[0] as ImageRow[];
    const row = async (name: string) => (await listImages()).find((r) => r[0] === name);
    const imageProperty = async (name: string, prop: string) => {
      const [path] = await callManager(stack.client, 'GetImage', [name]);
      const [v] = await stack.client.call('org.freedesktop.machine1', path as string, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [
        'org.freedesktop.machine1.Image',
        prop,
      ]);
      return (v as { value: unknown }).value;
    };
    const managerProperty = async (prop: string) => {
      const [v] = await stack.client.call('org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.DBus.Properties', 'Get', 'ss', [
        'org.freedesktop.machine1.Manager',
        prop,
      ]);
      return (v as { value: unknown }).value;
    };

    before(async () => {
      expect(btrfsPoolMounted(), 'btrfs mounted on the pool').to.equal(true);
      const sub = join(POOL, SUB);
      btrfs('subvolume', 'create', sub);
      const r = await run('cp', ['-a', '--', `${await busyboxRootfs()}/.`, `${sub}/`], { timeoutMs: 60000 });
      expect(r.code, r.stderr).to.equal(0);
      mkdirSync(join(sub, 'var'), { recursive: true });
      btrfs('subvolume', 'create', join(sub, NESTED));
      writeFileSync(join(sub, NESTED, 'inside'), 'nested data\n');
      writeFileSync(join(sub, 'etc/hostname'), 'subhost\n');
      await copyBusyboxRootfs(join(POOL, PLAIN));
      await waitUntil(async () => (await row(PLAIN)) !== undefined && (await row(SUB)) !== undefined, 'the images to be listed');
    });

    it('lists a subvolume image with type subvolume, and a plain directory as directory', async () => {
      const r = await machinectl('list-images');
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`^${SUB}\\s+subvolume\\s+no\\s`, 'm'));
      expect(r.stdout).to.match(new RegExp(`^${PLAIN}\\s+directory\\s+no\\s`, 'm'));
      const sub = (await row(SUB))!;
      expect(sub.slice(0, 3)).to.deep.equal([SUB, 'subvolume', false]);
      // Quota is off: usage unknown, as upstream.
      expect(sub[5]).to.equal(UINT64_MAX);
      const show = parseShowOutput((await machinectl('show-image', SUB)).stdout);
      expect(show).to.include({ Type: 'subvolume', ReadOnly: 'no', Limit: 'infinity' });
      const status = await machinectl('image-status', SUB);
      expect(status.stdout).to.match(/Type: subvolume/);
      expect(status.stdout).to.contain('Hostname: subhost');
      expect(await managerProperty('PoolUsage')).to.equal(UINT64_MAX);
      expect(await managerProperty('PoolLimit')).to.equal(UINT64_MAX);
    });

    it('clone of a subvolume is a snapshot, nested subvolumes snapshotted into place', async () => {
      const r = await machinectl('clone', SUB, 'e2e-snap');
      expect(r.code, r.stderr).to.equal(0);
      const snap = join(POOL, 'e2e-snap');
      expect(subvolField(snap, 'Parent UUID')).to.equal(subvolField(join(POOL, SUB), 'UUID'));
      expect(roProperty(snap)).to.equal('ro=false');
      expect(isSubvolume(join(snap, NESTED)), 'nested subvolume in the clone').to.equal(true);
      expect(subvolField(join(snap, NESTED), 'Parent UUID')).to.equal(subvolField(join(POOL, SUB, NESTED), 'UUID'));
      expect(readFileSync(join(snap, NESTED, 'inside'), 'utf8')).to.equal('nested data\n');
      expect(readFileSync(join(snap, 'etc/hostname'), 'utf8')).to.equal('subhost\n');
      expect((await row('e2e-snap'))?.slice(0, 3)).to.deep.equal(['e2e-snap', 'subvolume', false]);
      // No temporary left behind.
      expect(btrfs('subvolume', 'list', POOL)).not.to.contain('.#');
    });

    it('clone --read-only gives a read-only snapshot', async () => {
      const r = await machinectl('clone', '--read-only', SUB, 'e2e-rosnap');
      expect(r.code, r.stderr).to.equal(0);
      const snap = join(POOL, 'e2e-rosnap');
      expect(subvolField(snap, 'Parent UUID')).to.equal(subvolField(join(POOL, SUB), 'UUID'));
      expect(roProperty(snap)).to.equal('ro=true');
      expect(subvolField(snap, 'Flags')).to.equal('readonly');
      expect(isSubvolume(join(snap, NESTED))).to.equal(true);
      expect(parseShowOutput((await machinectl('show-image', 'e2e-rosnap')).stdout)).to.include({ Type: 'subvolume', ReadOnly: 'yes' });
    });

    it('clone of a plain directory into a btrfs pool makes a subvolume, as upstream', async () => {
      const r = await machinectl('clone', '--read-only', PLAIN, 'e2e-plainclone');
      expect(r.code, r.stderr).to.equal(0);
      const clone = join(POOL, 'e2e-plainclone');
      expect(isSubvolume(clone)).to.equal(true);
      expect(subvolField(clone, 'Parent UUID')).to.equal('-');
      expect(roProperty(clone)).to.equal('ro=true');
      expect(existsSync(join(clone, 'bin/busybox'))).to.equal(true);
      expect((await row('e2e-plainclone'))?.slice(0, 3)).to.deep.equal(['e2e-plainclone', 'subvolume', true]);
    });

    it('read-only yes/no toggles the subvolume flag, not the immutable attribute', async () => {
      const snap = join(POOL, 'e2e-snap');
      let r = await machinectl('read-only', 'e2e-snap');
      expect(r.code, r.stderr).to.equal(0);
      expect(roProperty(snap)).to.equal('ro=true');
      expect(execFileSync('lsattr', ['-d', snap], { encoding: 'utf8' }).split(' ')[0]).not.to.contain('i');
      expect((await row('e2e-snap'))?.[2]).to.equal(true);
      expect(await imageProperty('e2e-snap', 'ReadOnly')).to.equal(true);
      r = await machinectl('read-only', 'e2e-snap', 'no');
      expect(r.code, r.stderr).to.equal(0);
      expect(roProperty(snap)).to.equal('ro=false');
      expect((await row('e2e-snap'))?.[2]).to.equal(false);
    });

    it('set-limit on an image needs quota on, which is never switched on behind the user\'s back', async () => {
      const r = await machinectl('set-limit', SUB, '100M');
      expect(r.code).not.to.equal(0);
      expect(r.stderr).to.contain('Quota is not enabled');
      expect((await run('btrfs', ['qgroup', 'show', POOL])).code, 'quota still off').not.to.equal(0);
      // Off subvolumes there is no quota group to limit.
      const plain = await machinectl('set-limit', PLAIN, '100M');
      expect(plain.stderr).to.contain('Quota is only supported on btrfs.');
    });

    it('set-limit SIZE limits the pool: quota on, a subtree qgroup, PoolLimit shown', async () => {
      const r = await machinectl('set-limit', '1G');
      expect(r.code, r.stderr).to.equal(0);
      expect(parseShowOutput((await machinectl('show')).stdout)).to.include({ PoolPath: POOL, PoolLimit: String(1n << 30n) });
      expect(await managerProperty('PoolLimit')).to.equal(1n << 30n);
      expect(await managerProperty('PoolUsage')).not.to.equal(UINT64_MAX);
      // As upstream's btrfs_subvol_auto_qgroup for the top level subvolume (id 5): 255/5 holds 0/5.
      const table = btrfs('qgroup', 'show', '-pcre', '--raw', POOL);
      expect(table).to.match(/^255\/5\s+\d+\s+\d+\s+1073741824\s/m);
      expect(table).to.match(/^0\/5\s.*\s255\/5\s/m);
      const status = await machinectl('image-status');
      expect(status.stdout).to.match(/Limit: 1\.0G|Limit: 1G/);
    });

    it('set-limit NAME SIZE limits the image\'s subtree qgroup, shown by image-status and show-image', async () => {
      const r = await machinectl('set-limit', SUB, '100M');
      expect(r.code, r.stderr).to.equal(0);
      const id = btrfs('inspect-internal', 'rootid', join(POOL, SUB)).trim();
      const table = btrfs('qgroup', 'show', '-pcre', '--raw', POOL);
      // The image's own intermediary qgroup, one level under the pool's, carries the limit.
      expect(table).to.match(new RegExp(`^254/${id}\\s+\\d+\\s+\\d+\\s+104857600\\s`, 'm'));
      expect(await imageProperty(SUB, 'Limit')).to.equal(104857600n);
      expect(await imageProperty(SUB, 'Usage')).not.to.equal(UINT64_MAX);
      expect(parseShowOutput((await machinectl('show-image', SUB)).stdout).Limit).to.match(/^(104857600|100M)$/);
      const status = await machinectl('image-status', SUB);
      expect(status.stdout, status.stdout).to.match(/Limit: 100\.0M/);
      // Allowed on a read-only image too, as upstream.
      expect((await machinectl('set-limit', 'e2e-rosnap', '50M')).code).to.equal(0);
      expect(await imageProperty('e2e-rosnap', 'Limit')).to.equal(50n * 1024n * 1024n);
      // infinity lifts it.
      expect((await machinectl('set-limit', SUB, 'infinity')).code).to.equal(0);
      expect(await imageProperty(SUB, 'Limit')).to.equal(UINT64_MAX);
    });

    it('a clone made with quota on gets its own subtree qgroup in the pool\'s', async () => {
      expect((await machinectl('clone', SUB, 'e2e-quotaclone')).code).to.equal(0);
      const id = btrfs('inspect-internal', 'rootid', join(POOL, 'e2e-quotaclone')).trim();
      const table = btrfs('qgroup', 'show', '-pcre', '--raw', POOL);
      expect(table).to.match(new RegExp(`^254/${id}\\s.*\\s255/5\\s`, 'm'));
      expect(table).to.match(new RegExp(`^0/${id}\\s.*\\s254/${id}\\s`, 'm'));
      // Removing it takes its intermediary qgroup along (upstream's BTRFS_REMOVE_QUOTA).
      expect((await machinectl('remove', 'e2e-quotaclone')).code).to.equal(0);
      expect(btrfs('qgroup', 'show', '-pcre', '--raw', POOL)).not.to.match(new RegExp(`^254/${id}\\s`, 'm'));
    });

    it('a clone temporary a crash left behind (read-only, with a nested subvolume) is deleted at start', async () => {
      const temp = join(POOL, '.#clone-e2e-crashed-0badc0de');
      btrfs('subvolume', 'snapshot', join(POOL, SUB), temp);
      execFileSync('rmdir', [join(temp, NESTED)]);
      btrfs('subvolume', 'snapshot', join(POOL, SUB, NESTED), join(temp, NESTED));
      btrfs('property', 'set', '-ts', temp, 'ro', 'true');
      await stack.machined.stop();
      stack.machined = await startMachined({ busAddress: stack.bus.address });
      await waitUntil(async () => !existsSync(temp), 'the temporary to be deleted');
      expect(btrfs('subvolume', 'list', POOL)).not.to.contain('.#clone-');
      expect((await row(SUB))?.[1]).to.equal('subvolume');
    });

    it('rename moves a subvolume image', async () => {
      const r = await machinectl('rename', 'e2e-snap', 'e2e-renamed');
      expect(r.code, r.stderr).to.equal(0);
      expect(existsSync(join(POOL, 'e2e-snap'))).to.equal(false);
      expect(isSubvolume(join(POOL, 'e2e-renamed'))).to.equal(true);
      expect(isSubvolume(join(POOL, 'e2e-renamed', NESTED))).to.equal(true);
      expect((await row('e2e-renamed'))?.[1]).to.equal('subvolume');
    });

    it('remove deletes a subvolume image with its nested subvolumes; a read-only one only once writable', async () => {
      let r = await machinectl('remove', 'e2e-renamed');
      expect(r.code, r.stderr).to.equal(0);
      expect(existsSync(join(POOL, 'e2e-renamed'))).to.equal(false);
      const left = () => btrfs('subvolume', 'list', POOL);
      expect(left()).not.to.match(/e2e-renamed|\.#remove-/);

      r = await machinectl('remove', 'e2e-rosnap');
      expect(r.code).not.to.equal(0);
      expect(isSubvolume(join(POOL, 'e2e-rosnap'))).to.equal(true);
      expect((await machinectl('read-only', 'e2e-rosnap', 'no')).code).to.equal(0);
      r = await machinectl('remove', 'e2e-rosnap');
      expect(r.code, r.stderr).to.equal(0);
      expect(existsSync(join(POOL, 'e2e-rosnap'))).to.equal(false);
      expect(left()).not.to.contain('e2e-rosnap');
      expect(await errorOf(callManager(stack.client, 'GetImage', ['e2e-rosnap']))).to.include({ name: 'org.freedesktop.machine1.NoSuchImage' });
    });
  });

  // After the suite above (mocha runs a describe's own tests before its nested ones).
  describe('a pool directory yet to be made', () => {
    it('set-limit on a pool directory that does not exist yet creates it as a subvolume, as upstream', async () => {
      const pool = join(POOL, 'e2e-newpool');
      const bus = await startPrivateBus();
      try {
        const machined = await startMachined({ busAddress: bus.address, poolPath: pool });
        try {
          const env = { DBUS_SYSTEM_BUS_ADDRESS: bus.address, SYSTEMD_COLORS: '0' };
          const r = await run('machinectl', ['--no-pager', '--no-ask-password', 'set-limit', '2G'], { env, timeoutMs: 60000 });
          expect(r.code, r.stderr).to.equal(0);
          expect(isSubvolume(pool)).to.equal(true);
          const show = await run('machinectl', ['--no-pager', 'show'], { env });
          expect(parseShowOutput(show.stdout)).to.include({ PoolPath: pool, PoolLimit: String(2n << 30n) });
        } finally {
          await machined.stop();
        }
      } finally {
        await bus.stop();
      }
    });
  });
});

/** Whether a program is in PATH (the suite needs btrfs-progs). */
