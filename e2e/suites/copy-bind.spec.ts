/**
 * Copying files into and out of running containers and bind-mounting host directories into them,
 * driven by Debian's real `machinectl copy-to / copy-from / bind` (and busctl for the flags) against
 * systemd-nspawn containers on a private copy of the busybox tree: modes, times and (in a
 * user-namespaced container) shifted ownership kept; nothing followed out of the container's root;
 * read-only binds enforced; nobody refused; the 65th concurrent copy refused.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineObjectPath } from '@machined/protocol';
import {
  callManager,
  connectBus,
  copyBusyboxRootfs,
  createMachine,
  errorOf,
  listMachineNames,
  machineLeader,
  run,
  runAsNobody,
  spawnLeader,
  spawnNspawn,
  testMachineName,
  track,
  trackPath,
  useStack,
  waitUntil,
  type NspawnContainer,
} from '../support/index.js';

const OLD = new Date('2001-02-03T04:05:06Z');
/** nspawn adjusts ownership (--private-users-ownership=chown) only for shifts that are multiples of 2^16. */
const SHIFT = 0x30000;

describe('copy-to, copy-from and bind on running containers (real machinectl)', function () {
  this.timeout(180000);
  const stack = useStack({ extraArgs: ['--terminate-timeout', '3'] });
  const env = () => ({ DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0' });
  const machinectl = (...args: string[]) => run('machinectl', ['--no-pager', '--no-ask-password', ...args], { env: env(), timeoutMs: 60000 });
  const busctl = (...args: string[]) =>
    run('busctl', ['--address', stack.bus.address, 'call', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', ...args]);

  let work: string;
  let name: string;
  let rootfs: string;
  let container: NspawnContainer;
  let leader: number;
  /** A host path seen from inside the container (through the leader's root: tmpfs /tmp included). */
  const inside = (p: string) => `/proc/${leader}/root${p}`;

  async function startContainer(label: string, extraArgs: string[] = []): Promise<{ name: string; rootfs: string; c: NspawnContainer; leader: number }> {
    const n = testMachineName(label);
    const root = await copyBusyboxRootfs(join(work, `${label}-root`));
    mkdirSync(join(root, 'srv'), { recursive: true });
    mkdirSync(join(root, 'mnt'), { recursive: true });
    const c = spawnNspawn({ name: n, rootfs: root, busAddress: stack.bus.address, extraArgs, command: ['/bin/sh', '-c', 'sleep 1000 & wait'] });
    await waitUntil(async () => (await listMachineNames(stack.client)).includes(n), `nspawn to register ${n}`, 30000);
    return { name: n, rootfs: root, c, leader: await machineLeader(stack.client, n) };
  }

  async function stopContainer(n: string, c: NspawnContainer): Promise<void> {
    await callManager(stack.client, 'TerminateMachine', [n]).catch(() => {});
    c.child.kill('SIGKILL');
    await c.exited;
  }

  /** A small tree: a setuid file with an old mtime, a subdirectory with an old mtime, a symlink. */
  function makeTree(dir: string): void {
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a'), 'alpha\n');
    chmodSync(join(dir, 'a'), 0o4751);
    writeFileSync(join(dir, 'sub', 'b'), 'beta\n');
    chmodSync(join(dir, 'sub', 'b'), 0o640);
    symlinkSync('a', join(dir, 'link'));
    linkSync(join(dir, 'a'), join(dir, 'hard'));
    utimesSync(join(dir, 'a'), OLD, OLD);
    utimesSync(join(dir, 'sub', 'b'), OLD, OLD);
    utimesSync(join(dir, 'sub'), OLD, OLD);
    chmodSync(dir, 0o750);
    utimesSync(dir, OLD, OLD);
  }

  /** The tree of makeTree(); a merged one keeps its directories' own modes and times, as upstream. */
  function expectTree(dir: string, merged = false): void {
    const top = statSync(dir);
    expect(top.isDirectory()).to.equal(true);
    if (!merged) {
      expect(top.mode & 0o7777).to.equal(0o750);
      expect(top.mtime.getTime()).to.equal(OLD.getTime());
      expect(statSync(join(dir, 'sub')).mtime.getTime()).to.equal(OLD.getTime());
    }
    expect(readFileSync(join(dir, 'a'), 'utf8')).to.equal('alpha\n');
    expect(statSync(join(dir, 'a')).mode & 0o7777).to.equal(0o4751);
    expect(statSync(join(dir, 'a')).mtime.getTime()).to.equal(OLD.getTime());
    expect(readFileSync(join(dir, 'sub', 'b'), 'utf8')).to.equal('beta\n');
    expect(statSync(join(dir, 'sub', 'b')).mode & 0o7777).to.equal(0o640);
    expect(statSync(join(dir, 'sub', 'b')).mtime.getTime()).to.equal(OLD.getTime());
    expect(readlinkSync(join(dir, 'link'))).to.equal('a');
    expect(statSync(join(dir, 'hard')).ino, 'a hard link stays one').to.equal(statSync(join(dir, 'a')).ino);
  }

  /** No temporary of an interrupted or refused copy is left in a directory. */
  function expectNoTemporaries(dir: string): void {
    expect(readdirSync(dir).filter((e) => e.startsWith('.#machined-copy'))).to.deep.equal([]);
  }

  before(async () => {
    work = trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-copy-')));
    ({ name, rootfs, c: container, leader } = await startContainer('copy'));
  });

  after(async () => {
    if (container) await stopContainer(name, container);
  });

  it('copy-to copies a file (mode and mtime kept), refuses an existing destination without --force, replaces it with --force', async () => {
    const src = join(work, 'file-to');
    writeFileSync(src, 'first\n');
    chmodSync(src, 0o604);
    utimesSync(src, OLD, OLD);
    let r = await machinectl('copy-to', name, src, '/srv/file');
    expect(r.code, r.stderr).to.equal(0);
    const dest = join(rootfs, 'srv/file');
    expect(readFileSync(dest, 'utf8')).to.equal('first\n');
    expect(statSync(dest).mode & 0o7777).to.equal(0o604);
    expect(statSync(dest).mtime.getTime()).to.equal(OLD.getTime());
    expect(statSync(dest).uid).to.equal(0);

    writeFileSync(src, 'second\n');
    r = await machinectl('copy-to', name, src, '/srv/file');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^Failed to copy: .*\/srv\/file already exists in the machine: File exists$/m);
    expect(readFileSync(dest, 'utf8')).to.equal('first\n');

    r = await machinectl('copy-to', '--force', name, src, '/srv/file');
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(dest, 'utf8')).to.equal('second\n');
    expectNoTemporaries(join(rootfs, 'srv'));

    // Without a destination the same path is used inside the container (its own tmpfs /tmp here).
    mkdirSync(inside(work), { recursive: true });
    r = await machinectl('copy-to', name, src);
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(inside(src), 'utf8')).to.equal('second\n');
  });

  it('copy-to and copy-from copy a directory tree both ways, with and without --force', async () => {
    const tree = join(work, 'tree');
    makeTree(tree);
    let r = await machinectl('copy-to', name, tree, '/srv/tree');
    expect(r.code, r.stderr).to.equal(0);
    expectTree(join(rootfs, 'srv/tree'));

    // Changed inside the container, then copied back out to a new host path.
    writeFileSync(join(rootfs, 'srv/tree/sub/c'), 'gamma\n');
    const back = join(work, 'tree-back');
    r = await machinectl('copy-from', name, '/srv/tree', back);
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(join(back, 'sub/c'), 'utf8')).to.equal('gamma\n');
    expect(statSync(join(back, 'a')).mode & 0o7777).to.equal(0o4751);
    expect(statSync(join(back, 'a')).mtime.getTime()).to.equal(OLD.getTime());
    expect(statSync(back).mtime.getTime()).to.equal(OLD.getTime());

    // Directories merge as upstream's COPY_MERGE. Without --force any file that would be
    // overwritten is refused before anything is written; with --force it is replaced, and what
    // exists only at the destination stays.
    writeFileSync(join(rootfs, 'srv/tree/a'), 'changed\n');
    writeFileSync(join(rootfs, 'srv/tree/sub/d'), 'delta\n');
    r = await machinectl('copy-from', name, '/srv/tree', back);
    expect(r.code).to.equal(1);
    // The first conflict found (a, hard, link or sub/b: directory order) is named.
    expect(r.stderr).to.match(new RegExp(`^Failed to copy: ${back}/(a|hard|link|sub/b) already exists on the host: File exists$`, 'm'));
    expect(readFileSync(join(back, 'a'), 'utf8')).to.equal('alpha\n');
    expect(existsSync(join(back, 'sub/d'))).to.equal(false);
    writeFileSync(join(back, 'only-on-host'), 'x');
    r = await machinectl('copy-from', '--force', name, '/srv/tree', back);
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(join(back, 'a'), 'utf8')).to.equal('changed\n');
    expect(readFileSync(join(back, 'sub/d'), 'utf8')).to.equal('delta\n');
    expect(readFileSync(join(back, 'only-on-host'), 'utf8')).to.equal('x');
    expectNoTemporaries(work);
    expectNoTemporaries(back);

    // New entries only: merged without --force.
    const more = join(work, 'more');
    mkdirSync(join(more, 'sub'), { recursive: true });
    writeFileSync(join(more, 'sub', 'e'), 'epsilon\n');
    r = await machinectl('copy-to', name, more, '/srv/tree');
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(join(rootfs, 'srv/tree/sub/e'), 'utf8')).to.equal('epsilon\n');

    // The original tree over the changed one inside the container, with --force.
    r = await machinectl('copy-to', '--force', name, tree, '/srv/tree');
    expect(r.code, r.stderr).to.equal(0);
    expectTree(join(rootfs, 'srv/tree'), true);
    expect(readFileSync(join(rootfs, 'srv/tree/sub/c'), 'utf8')).to.equal('gamma\n');
    expectNoTemporaries(join(rootfs, 'srv/tree'));
    expectNoTemporaries(join(rootfs, 'srv/tree/sub'));
  });

  it('copy-from copies a file out of the container', async () => {
    const dest = join(work, 'os-release');
    const r = await machinectl('copy-from', name, '/etc/os-release', dest);
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(dest, 'utf8')).to.contain('ID=busybox-test');
  });

  it('a missing source fails with a clear error and creates nothing', async () => {
    let r = await machinectl('copy-to', name, join(work, 'does-not-exist'), '/srv/nothing');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^Failed to copy: cannot copy .*does-not-exist on the host: No such file or directory$/m);
    expect(existsSync(join(rootfs, 'srv/nothing'))).to.equal(false);
    r = await machinectl('copy-from', name, '/srv/does-not-exist', join(work, 'nothing'));
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^Failed to copy: cannot copy \/srv\/does-not-exist in the machine: No such file or directory$/m);
    expect(existsSync(join(work, 'nothing'))).to.equal(false);
    expect(await errorOf(callManager(stack.client, 'CopyToMachine', [name, join(work, 'does-not-exist'), '/srv/nothing']))).to.include({
      name: 'org.freedesktop.DBus.Error.FileNotFound',
    });
  });

  it('never leaves the container: `..` is refused, symlinks inside the container resolve inside it', async () => {
    const outside = trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-outside-')));
    const src = join(work, 'escape');
    writeFileSync(src, 'escape\n');
    // Absolute and relative links that would point at the host's directory if followed on the host.
    symlinkSync(outside, join(rootfs, 'etc/link'));
    symlinkSync(`../../../../../../../..${outside}`, join(rootfs, 'etc/uplink'));

    let r = await machinectl('copy-to', name, src, `/srv/../../..${outside}/f`);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^Failed to copy: Destination path must be absolute and normalized\.$/m);
    r = await machinectl('copy-from', name, `/../../..${join(work, 'escape')}`, join(work, 'escape-back'));
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^Failed to copy: Source path must be absolute and normalized\.$/m);

    for (const via of ['/etc/link/f', '/etc/uplink/f']) {
      r = await machinectl('copy-to', name, src, via);
      expect(r.code, via).to.equal(1);
      expect(r.stderr).to.match(/^Failed to copy: cannot open the directory \/etc\/(up)?link in the machine: No such file or directory$/m);
    }
    // Reading through the link finds the container's (absent) directory, not the host's file.
    writeFileSync(join(outside, 'secret'), 'host secret\n');
    r = await machinectl('copy-from', name, '/etc/link/secret', join(work, 'stolen'));
    expect(r.code).to.equal(1);
    expect(existsSync(join(work, 'stolen'))).to.equal(false);

    // The link itself is an existing destination; replacing it replaces the link, in the container.
    r = await machinectl('copy-to', name, src, '/etc/link');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/File exists$/m);
    r = await machinectl('copy-to', '--force', name, src, '/etc/link');
    expect(r.code, r.stderr).to.equal(0);
    expect(lstatSync(join(rootfs, 'etc/link')).isFile()).to.equal(true);
    expect(readdirSync(outside)).to.deep.equal(['secret']);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).to.equal('host secret\n');
  });

  it('checks flags, paths and the machine class as upstream (busctl)', async () => {
    let r = await busctl('CopyToMachineWithFlags', 'ssst', name, join(work, 'file-to'), '/srv/flagged', '2');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/Invalid copy flags 0x2/);
    r = await busctl('CopyToMachineWithFlags', 'ssst', name, join(work, 'file-to'), '/srv/flagged', '1');
    expect(r.code, r.stderr).to.equal(0);
    expect(existsSync(join(rootfs, 'srv/flagged'))).to.equal(true);
    r = await busctl('CopyFromMachineWithFlags', 'ssst', name, '/srv/flagged', join(work, 'flagged'), '0');
    expect(r.code, r.stderr).to.equal(0);
    expect(await errorOf(callManager(stack.client, 'CopyToMachine', [name, 'relative', '/srv/x']))).to.deep.equal({
      name: 'org.freedesktop.DBus.Error.InvalidArgs',
      message: 'Source path must be absolute.',
    });
    expect(await errorOf(callManager(stack.client, 'CopyToMachine', ['.host', '/etc/hostname', '/tmp/x']))).to.deep.equal({
      name: 'org.freedesktop.DBus.Error.NotSupported',
      message: 'Copying files is only supported on container machines.',
    });
    expect(await errorOf(callManager(stack.client, 'BindMountMachine', ['.host', '/srv', '/mnt', false, false]))).to.deep.equal({
      name: 'org.freedesktop.DBus.Error.NotSupported',
      message: 'Bind mounting is only supported on container machines.',
    });
    // A "container" whose leader lives in the host's mount namespace and root: a copy would write
    // the host's files, a mount would land on the host.
    const plain = await spawnLeader();
    const plainName = testMachineName('plain');
    await createMachine(stack.client, plainName, plain.pid!);
    try {
      expect(await errorOf(callManager(stack.client, 'BindMountMachine', [plainName, work, '/mnt', false, false]))).to.deep.equal({
        name: 'org.freedesktop.DBus.Error.NotSupported',
        message: `Machine ${plainName} shares the host's mount namespace; refusing to bind mount into it.`,
      });
      expect(await errorOf(callManager(stack.client, 'CopyToMachine', [plainName, join(work, 'file-to'), join(work, 'via-host')]))).to.deep.equal({
        name: 'org.freedesktop.DBus.Error.NotSupported',
        message: `Machine ${plainName} shares the host's root directory and mounts; refusing to copy files into or out of it.`,
      });
      expect(existsSync(join(work, 'via-host'))).to.equal(false);
    } finally {
      await callManager(stack.client, 'TerminateMachine', [plainName]).catch(() => {});
      plain.kill('SIGKILL');
    }
    // The Machine object's own method.
    await stack.client.call('org.freedesktop.machine1', machineObjectPath(name), 'org.freedesktop.machine1.Machine', 'CopyToWithFlags', 'sst', [
      join(work, 'file-to'),
      '/srv/via-object',
      1n,
    ]);
    expect(existsSync(join(rootfs, 'srv/via-object'))).to.equal(true);
  });

  it('bind mounts a host directory into the container, read-write and read-only, with --mkdir', async () => {
    const shared = join(work, 'shared');
    mkdirSync(shared);
    writeFileSync(join(shared, 'hello'), 'from the host\n');
    const inNs = (...args: string[]) => run('nsenter', ['-t', String(leader), '-m', '--', ...args]);

    let r = await machinectl('bind', name, shared, '/mnt');
    expect(r.code, r.stderr).to.equal(0);
    r = await inNs('cat', '/mnt/hello');
    expect(r.stdout).to.equal('from the host\n');
    r = await inNs('sh', '-c', 'echo written > /mnt/new');
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(join(shared, 'new'), 'utf8')).to.equal('written\n');
    // The container's directory on disk is unchanged: the mount lives in its namespace only.
    expect(readdirSync(join(rootfs, 'mnt'))).to.deep.equal([]);

    r = await machinectl('bind', name, shared, '/srv/a/b/c');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^Failed to bind mount: cannot mount on \/srv\/a\/b\/c in the machine: No such file or directory$/m);
    r = await machinectl('bind', '--read-only', '--mkdir', name, shared, '/srv/a/b/c');
    expect(r.code, r.stderr).to.equal(0);
    r = await inNs('ls', '/srv/a/b/c');
    expect(r.stdout.split('\n').filter(Boolean).sort()).to.deep.equal(['hello', 'new']);
    r = await inNs('sh', '-c', 'echo no > /srv/a/b/c/hello');
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/Read-only file system/);
    expect(readFileSync(join(shared, 'hello'), 'utf8')).to.equal('from the host\n');

    expect(await errorOf(callManager(stack.client, 'BindMountMachine', [name, join(work, 'missing'), '/mnt', false, false]))).to.include({
      name: 'org.freedesktop.DBus.Error.FileNotFound',
    });
    expect(await errorOf(callManager(stack.client, 'BindMountMachine', [name, shared, '/srv/../etc', false, false]))).to.deep.equal({
      name: 'org.freedesktop.DBus.Error.InvalidArgs',
      message: 'Destination path must be absolute and normalized.',
    });
  });

  it('as nobody, copy and bind are refused with AccessDenied', async () => {
    const src = join(work, 'file-to');
    for (const args of [
      ['copy-to', name, src, '/srv/by-nobody'],
      ['copy-from', name, '/etc/os-release', join(work, 'by-nobody')],
      ['bind', name, work, '/mnt'],
    ]) {
      const r = await runAsNobody('machinectl', ['--no-pager', '--no-ask-password', ...args], { env: env() });
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr).to.match(/Access denied/);
    }
    expect(existsSync(join(rootfs, 'srv/by-nobody'))).to.equal(false);
    const r = await runAsNobody('busctl', ['--address', stack.bus.address, 'call', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'CopyToMachine', 'sss', name, src, '/srv/by-nobody']);
    expect(r.stderr).to.match(/Access denied/);
  });

  it('allows 64 copies at once and refuses the 65th with LimitsExceeded', async () => {
    // The source is held by a write lease: every copy blocks in open() until the lease is released,
    // so exactly 64 are in flight when the 65th arrives, whatever the machine's speed.
    const src = join(work, 'leased');
    writeFileSync(src, 'leased\n');
    const holder = track(
      spawn(
        '/usr/bin/python3',
        [
          '-c',
          'import fcntl,os,signal,sys\nsignal.signal(signal.SIGIO, signal.SIG_IGN)\nfd=os.open(sys.argv[1], os.O_RDONLY)\nfcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)\nprint("held", flush=True)\nsys.stdin.read()\nfcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)\n',
          src,
        ],
        { detached: true, stdio: ['pipe', 'pipe', 'inherit'] },
      ),
    );
    const held = await new Promise<boolean>((resolve) => {
      holder.stdout!.once('data', () => resolve(true));
      holder.once('exit', () => resolve(false));
    });
    expect(held, 'python3 took the write lease').to.equal(true);
    const client = await connectBus(stack.bus.address, 120000);
    const dir = join(rootfs, 'srv/many');
    mkdirSync(dir);
    try {
      const copies = Array.from({ length: 64 }, (_, i) => callManager(client, 'CopyToMachine', [name, src, `/srv/many/${i}`]));
      await waitUntil(async () => (await run('pgrep', ['-c', '-x', '-P', String(stack.machined.pid), 'machined-copy'])).stdout.trim() === '64', '64 copies to be running', 30000);
      expect(await errorOf(callManager(stack.client, 'CopyToMachine', [name, src, '/srv/many/65']))).to.deep.equal({
        name: 'org.freedesktop.DBus.Error.LimitsExceeded',
        message: 'Too many ongoing copies.',
      });
      holder.stdin!.end();
      await Promise.all(copies);
      expect(readdirSync(dir).length).to.equal(64);
      expect(readFileSync(join(dir, '63'), 'utf8')).to.equal('leased\n');
    } finally {
      holder.stdin!.end();
      client.close();
    }
  });

  it('in a user-namespaced container: GetMachineUIDShift gives the shift, copy-to shifts owners, copy-from shifts back', async () => {
    const u = await startContainer('userns', [`--private-users=${SHIFT}:65536`, '--private-users-ownership=chown']);
    try {
      expect(await callManager(stack.client, 'GetMachineUIDShift', [u.name])).to.deep.equal([SHIFT]);
      const tree = join(work, 'owned');
      mkdirSync(join(tree, 'sub'), { recursive: true });
      writeFileSync(join(tree, 'root-file'), 'r\n');
      writeFileSync(join(tree, 'sub', 'user-file'), 'u\n');
      chownSync(join(tree, 'sub', 'user-file'), 1000, 1001);
      let r = await machinectl('copy-to', u.name, tree, '/srv/owned');
      expect(r.code, r.stderr).to.equal(0);
      const onDisk = join(u.rootfs, 'srv/owned');
      expect([statSync(onDisk).uid, statSync(onDisk).gid]).to.deep.equal([SHIFT, SHIFT]);
      expect([statSync(join(onDisk, 'root-file')).uid, statSync(join(onDisk, 'root-file')).gid]).to.deep.equal([SHIFT, SHIFT]);
      expect([statSync(join(onDisk, 'sub/user-file')).uid, statSync(join(onDisk, 'sub/user-file')).gid]).to.deep.equal([SHIFT + 1000, SHIFT + 1001]);

      const back = join(work, 'owned-back');
      r = await machinectl('copy-from', u.name, '/srv/owned', back);
      expect(r.code, r.stderr).to.equal(0);
      expect(statSync(join(back, 'root-file')).uid).to.equal(0);
      expect([statSync(join(back, 'sub/user-file')).uid, statSync(join(back, 'sub/user-file')).gid]).to.deep.equal([1000, 1001]);

      // As upstream: no bind mounts into a container with a user namespace.
      r = await machinectl('bind', u.name, work, '/mnt');
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^Failed to bind mount: Can't bind mount on container with user namespacing applied\.$/m);
    } finally {
      await stopContainer(u.name, u.c);
    }
  });
});
