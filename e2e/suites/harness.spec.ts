/**
 * Self-test of the e2e harness (support/): a private bus that real sd-bus clients accept, the
 * busybox root file system, nspawn placement, and cleanup that leaves nothing behind. It needs
 * no machined: a stand-in (fixtures/fake-machined.mjs) exercises startMachined().
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dbus from 'dbus-next';
import {
  busyboxRootfs,
  CGROUP_ROOTS,
  cleanupAll,
  connectBus,
  DBUS_IFACE,
  DBUS_NAME,
  DBUS_PATH,
  leftoverCgroups,
  processGone,
  REPO_ROOT,
  run,
  runAsNobody,
  RUN_PREFIX,
  spawnNspawn,
  startMachined,
  startPrivateBus,
  testMachineName,
  track,
  trackPath,
  type PrivateBus,
} from '../support/index.js';

const FAKE_MACHINED = join(REPO_ROOT, 'e2e/fixtures/fake-machined.mjs');

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

describe('e2e harness', () => {
  describe('private bus', () => {
    let bus: PrivateBus;
    before(async () => {
      bus = await startPrivateBus();
    });
    after(async () => {
      await bus?.stop();
    });

    it('is accepted by sd-bus clients (busctl list)', async () => {
      const r = await run('busctl', [`--address=${bus.address}`, 'list', '--no-pager'], { timeoutMs: 10000 });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include('org.freedesktop.DBus');
    });

    it('is found through DBUS_SYSTEM_BUS_ADDRESS by busctl --system', async () => {
      const r = await run('busctl', ['--system', 'status', 'org.freedesktop.DBus', '--no-pager'], {
        env: bus.env,
        timeoutMs: 10000,
      });
      expect(r.code, r.stderr).to.equal(0);
    });

    it('answers dbus-next calls and delivers signals to collectors', async () => {
      const a = await connectBus(bus.address);
      try {
        const [names] = await a.call(DBUS_NAME, DBUS_PATH, DBUS_IFACE, 'ListNames');
        expect(names).to.include(a.uniqueName);
        const owners = await a.collectSignals({ sender: DBUS_NAME, member: 'NameOwnerChanged' });
        const b = await connectBus(bus.address);
        const appeared = await owners.waitFor((m) => m.body[0] === b.uniqueName, 5000);
        expect(appeared.body[2]).to.equal(b.uniqueName);
        b.close();
        await owners.waitFor((m) => m.body[0] === b.uniqueName && m.body[2] === '', 5000);
        await owners.stop();
      } finally {
        a.close();
      }
    });

    it('fails a call that gets no reply after its time limit, with the D-Bus error name otherwise', async () => {
      const server = await connectBus(bus.address);
      const client = await connectBus(bus.address);
      try {
        // Swallows every method call without replying.
        server.bus.addMethodHandler(() => true);
        const started = Date.now();
        const err = await client
          .call(server.uniqueName, '/', 'org.example.Silent', 'Hang', '', [], 300)
          .then(() => undefined, (e: Error) => e);
        expect(err?.message).to.match(/no reply within 300 ms/);
        expect(Date.now() - started).to.be.lessThan(3000);

        const missing = await client
          .call('org.example.Nobody', '/', 'org.example.X', 'Y')
          .then(() => undefined, (e: unknown) => e);
        expect(missing).to.be.instanceOf(dbus.DBusError);
        expect((missing as InstanceType<typeof dbus.DBusError>).type).to.equal(
          'org.freedesktop.DBus.Error.ServiceUnknown',
        );
      } finally {
        server.close();
        client.close();
      }
    });

    it('removes its directory on stop', async () => {
      const other = await startPrivateBus();
      expect(existsSync(other.socketPath)).to.equal(true);
      await other.stop();
      expect(existsSync(other.dir)).to.equal(false);
      expect(processGone(other.pid)).to.equal(true);
    });
  });

  describe('run()', () => {
    it('reports a non-zero exit without throwing, with stdout, stderr and input', async () => {
      const r = await run('sh', ['-c', 'cat; echo oops >&2; exit 7'], { input: 'hello' });
      expect(r).to.include({ code: 7, signal: null, stdout: 'hello', stderr: 'oops\n', timedOut: false });
    });

    it('kills the command and its children on timeout', async () => {
      const r = await run('sh', ['-c', 'sleep 30 & echo $!; wait'], { timeoutMs: 300 });
      expect(r.timedOut).to.equal(true);
      expect(r.signal).to.equal('SIGKILL');
      const sleeper = Number(r.stdout.trim());
      expect(await eventually(() => processGone(sleeper))).to.equal(true);
    });

    it('runs as nobody with runAsNobody()', async () => {
      const r = await runAsNobody('id', ['-u']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout.trim()).to.equal('65534');
    });
  });

  describe('busybox root file system', () => {
    it('is built once, complete, and left alone when current', async function () {
      this.timeout(120000);
      const dir = await busyboxRootfs();
      for (const f of ['bin/busybox', 'bin/sh', 'bin/sleep', 'bin/hostname', 'bin/ps', 'usr/bin/id', 'bin/cat']) {
        expect(existsSync(join(dir, f)), f).to.equal(true);
      }
      for (const d of ['dev', 'proc', 'sys', 'tmp', 'run', 'root', 'home/alice', 'var', 'sbin']) {
        expect(statSync(join(dir, d)).isDirectory(), d).to.equal(true);
      }
      const osRelease = readFileSync(join(dir, 'etc/os-release'), 'utf8');
      expect(osRelease).to.match(/^ID=busybox-test$/m).and.match(/^VERSION_ID=1$/m).and.match(/^PRETTY_NAME=/m);
      expect(readFileSync(join(dir, 'etc/passwd'), 'utf8')).to.match(/^alice:x:1000:1000:[^:]*:\/home\/alice:\/bin\/sh$/m);
      expect(readFileSync(join(dir, 'etc/group'), 'utf8')).to.match(/^alice:x:1000:/m);

      const before = statSync(join(dir, 'bin/busybox')).mtimeMs;
      const again = await run('bash', [join(REPO_ROOT, 'tools/rootfs/make-busybox-rootfs.sh'), dir]);
      expect(again.code, again.stderr).to.equal(0);
      expect(statSync(join(dir, 'bin/busybox')).mtimeMs).to.equal(before);
    });

    it('runs under systemd-nspawn (--keep-unit, unregistered) in a service cgroup', async function () {
      this.timeout(60000);
      const bus = await startPrivateBus();
      try {
        const name = testMachineName('harness');
        const c = spawnNspawn({
          name,
          rootfs: await busyboxRootfs(),
          busAddress: bus.address,
          keepUnit: true,
          register: false,
          command: ['/bin/sh', '-c', 'hostname; id -u; cat /etc/hostname'],
        });
        const exit = await c.exited;
        expect(exit.code, c.output().join('\n')).to.equal(0);
        expect(c.output()).to.include(name);
        expect(c.output()).to.include('0');
        // nspawn put itself and the payload below the service cgroup the harness made.
        for (const root of CGROUP_ROOTS) {
          expect(existsSync(join(root, c.serviceCgroup!, 'payload')), root).to.equal(true);
        }
      } finally {
        await bus.stop();
      }
    });
  });

  describe('startMachined() (with a stand-in daemon)', () => {
    let bus: PrivateBus;
    let stateDir: string;
    before(async () => {
      bus = await startPrivateBus();
      stateDir = trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-state-')));
    });
    after(async () => {
      await bus?.stop();
    });

    it('waits until org.freedesktop.machine1 is owned, captures stderr, stops on SIGTERM', async () => {
      const m = await startMachined({ busAddress: bus.address, stateDir, poolPath: stateDir, entry: FAKE_MACHINED });
      const r = await run('busctl', [`--address=${bus.address}`, 'status', 'org.freedesktop.machine1', '--no-pager']);
      expect(r.code, r.stderr).to.equal(0);
      expect(m.logs()).to.include('fake-machined: ready');
      expect(m.args).to.include.members(['--bus-address', bus.address, '--state-dir', stateDir, '--log-level', 'debug']);
      expect(await m.stop()).to.deep.equal({ code: 0, signal: null });
      expect(m.logs()).to.include('fake-machined: SIGTERM, exiting');
    });

    it('fails fast with the captured stderr when the daemon exits before it is ready', async () => {
      const started = Date.now();
      const err = await startMachined({
        busAddress: bus.address,
        stateDir,
        poolPath: stateDir,
        entry: FAKE_MACHINED,
        extraArgs: ['--fail-before-ready'],
      }).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.include('exited (status 3)').and.include('failing on purpose');
      expect(Date.now() - started).to.be.lessThan(10000);
    });

    it('kill9() ends the daemon without SIGTERM handling', async () => {
      const m = await startMachined({ busAddress: bus.address, stateDir, poolPath: stateDir, entry: FAKE_MACHINED });
      expect(await m.kill9()).to.deep.equal({ code: null, signal: 'SIGKILL' });
      expect(m.logs()).not.to.include('fake-machined: SIGTERM, exiting');
    });
  });

  // Last: cleanupAll() ends everything tracked so far, as the root hook does after the run.
  describe('cleanup', () => {
    it('kills tracked process groups, removes tracked paths and prefixed cgroups', async () => {
      const sleeper = track(spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' }));
      const dir = trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-cleanup-')));

      // A machine scope left behind by a crashed test: named with the run prefix, with a process.
      const created: string[] = [];
      const scopes: string[] = [];
      for (const root of CGROUP_ROOTS) {
        const slice = join(root, 'machine.slice');
        if (!existsSync(slice)) {
          mkdirSync(slice);
          created.push(slice);
        }
        const scope = join(slice, `machine-${RUN_PREFIX}\\x2dleftover.scope`);
        mkdirSync(join(scope, 'payload'), { recursive: true });
        scopes.push(scope);
      }
      const procs = scopes.map((s) => join(s, 'payload', 'cgroup.procs'));
      const inScope = spawn('sh', ['-c', `for f in "$@"; do echo $$ > "$f"; done; exec sleep 1000`, 'sh', ...procs], {
        stdio: 'ignore',
      });
      expect(await eventually(() => readFileSync(procs[0]!, 'utf8').trim() === String(inScope.pid))).to.equal(true);
      expect(leftoverCgroups().length).to.be.at.least(scopes.length);

      const problems = await cleanupAll();
      expect(problems).to.deep.equal([]);
      expect(await eventually(() => processGone(sleeper.pid!))).to.equal(true);
      expect(await eventually(() => processGone(inScope.pid!))).to.equal(true);
      expect(existsSync(dir)).to.equal(false);
      for (const s of scopes) expect(existsSync(s), s).to.equal(false);
      expect(leftoverCgroups()).to.deep.equal([]);
      // cleanupAll already removes slices the run created; these are only what it left.
      for (const slice of created) if (existsSync(slice)) rmdirSync(slice);
    });
  });
});
