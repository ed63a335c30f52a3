/**
 * SystemdBackend against a fake org.freedesktop.systemd1 on a private dbus-daemon: what goes over
 * the wire, and how the backend reacts to systemd's signals. The cgroup layout points into a
 * temporary directory, so the inotify complement is exercised on plain files.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dbus, { type MessageBus, type Variant } from 'dbus-next';
import type { CgroupLayout } from './hierarchy.js';
import type { ScopeSpec, UnitLocation } from './scope-backend.js';
import { SystemdBackend } from './systemd-backend.js';
import { FakeSystemd1 } from './testing/fake-systemd1.js';
import { connectBus, startPrivateBus, type PrivateBus } from './testing/private-bus.js';

let counter = 0;

function spec(extra: Partial<ScopeSpec> = {}): ScopeSpec {
  return {
    unit: `machine-fake${++counter}.scope`, slice: 'machine.slice', description: 'Container fake', pids: [4242], properties: [],
    ...extra,
  };
}

function settle<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  tracked.catch(() => undefined);
  return { settled: () => settled, promise: tracked };
}

function firstFired(): { promise: Promise<void>; callback: () => void; count: () => number } {
  let count = 0;
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, callback: () => { count++; resolve(); }, count: () => count };
}

describe('SystemdBackend against a fake systemd1', function () {
  let bus: PrivateBus;
  let fake: FakeSystemd1;
  let client: MessageBus;
  let backend: SystemdBackend;
  let cgroupRoot: string;
  let layout: CgroupLayout;

  before(async () => {
    bus = await startPrivateBus();
    fake = await FakeSystemd1.start(bus.address);
    client = await connectBus(bus.address);
    cgroupRoot = await mkdtemp(join(tmpdir(), 'cgroup-fake-'));
    layout = { hierarchy: 'hybrid', root: cgroupRoot, unified: join(cgroupRoot, 'unified'), systemd: join(cgroupRoot, 'systemd'), controllers: {} };
  });

  after(async () => {
    client?.disconnect();
    fake?.stop();
    await bus?.stop();
    if (cgroupRoot) await rm(cgroupRoot, { recursive: true, force: true });
  });

  beforeEach(() => {
    fake.calls.length = 0;
    fake.jobMode = 'after-reply';
    fake.jobResult = 'done';
    backend = new SystemdBackend(client, { layout, callTimeoutMs: 5000, jobTimeoutMs: 5000, procRoot: '/proc' });
  });

  afterEach(() => backend.close());

  it('StartTransientUnit carries upstream machined\'s properties, then the caller\'s verbatim', async () => {
    const s = spec({
      pids: [4242, 4343],
      properties: [
        ['DevicePolicy', 's', 'closed'],
        ['DeviceAllow', 'a(ss)', [['/dev/net/tun', 'rwm'], ['char-pts', 'rw']]],
        ['MemoryMax', 't', 1048576n],
      ],
    });
    const location = await backend.createScope(s);
    expect(location).to.deep.equal({ unit: s.unit, cgroupPath: `/machine.slice/${s.unit}`, subgroup: '' });
    expect(fake.callsTo('Subscribe')).to.have.length(1);
    const [call] = fake.callsTo('StartTransientUnit');
    const [name, mode, properties, aux] = call!.args as [string, string, Array<[string, Variant]>, unknown[]];
    expect([name, mode, aux]).to.deep.equal([s.unit, 'fail', []]);
    expect(properties.map(([key, v]) => [key, v.signature, v.value])).to.deep.equal([
      ['Slice', 's', 'machine.slice'],
      ['Description', 's', 'Container fake'],
      ['PIDs', 'au', [4242, 4343]],
      ['Delegate', 'b', true],
      ['CollectMode', 's', 'inactive-or-failed'],
      ['AddRef', 'b', true],
      ['TasksMax', 't', 16384n],
      ['DevicePolicy', 's', 'closed'],
      ['DeviceAllow', 'a(ss)', [['/dev/net/tun', 'rwm'], ['char-pts', 'rw']]],
      ['MemoryMax', 't', 1048576n],
    ]);
  });

  it('resolves only after JobRemoved for the returned job', async () => {
    fake.jobMode = 'manual';
    const job = new Promise<string>((resolve) => fake.once('job', resolve));
    const creating = settle(backend.createScope(spec()));
    const jobPath = await job;
    // A later call's reply arrives after the StartTransientUnit reply: the backend has seen the job.
    expect(await backend.exists({ unit: 'machine-nonexistent.scope', cgroupPath: '/x', subgroup: '' })).to.equal(false);
    expect(creating.settled()).to.equal(false);
    fake.finishJob(jobPath, 'done');
    await creating.promise;
  });

  it('copes with JobRemoved arriving before the StartTransientUnit reply', async () => {
    fake.jobMode = 'before-reply';
    const s = spec();
    expect((await backend.createScope(s)).unit).to.equal(s.unit);
  });

  it('maps a failed start job to org.freedesktop.systemd1.JobFailed', async () => {
    fake.jobResult = 'failed';
    const s = spec();
    const err = await backend.createScope(s).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(dbus.DBusError);
    expect(err).to.include({ type: 'org.freedesktop.systemd1.JobFailed', message: `Start job for unit ${s.unit} failed with 'failed'` });
  });

  it('ignores a JobRemoved forged by another connection', async () => {
    fake.jobMode = 'manual';
    const forger = await connectBus(bus.address);
    try {
      const job = new Promise<string>((resolve) => fake.once('job', resolve));
      const creating = settle(backend.createScope(spec()));
      const jobPath = await job;
      forger.send(dbus.Message.newSignal('/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'JobRemoved',
        'uoss', [1, jobPath, 'x.scope', 'failed']));
      await backend.exists({ unit: 'machine-nonexistent.scope', cgroupPath: '/x', subgroup: '' });
      fake.finishJob(jobPath, 'done');
      await creating.promise;
    } finally {
      forger.disconnect();
    }
  });

  it('passes StartTransientUnit errors through (UnitExists)', async () => {
    const s = spec();
    await backend.createScope(s);
    const err = await backend.createScope(s).then(() => undefined, (e: unknown) => e);
    expect(err).to.include({ type: 'org.freedesktop.systemd1.UnitExists' });
  });

  it('kills with KillUnit(unit, "all", signal) and removes with StopUnit(unit, "replace")', async () => {
    const location = await backend.createScope(spec());
    await backend.killAll(location, 9);
    expect(fake.callsTo('KillUnit').map((c) => c.args)).to.deep.equal([[location.unit, 'all', 9]]);
    await backend.remove(location);
    expect(fake.callsTo('StopUnit').map((c) => c.args)).to.deep.equal([[location.unit, 'replace']]);
    expect(fake.callsTo('UnrefUnit').map((c) => c.args)).to.deep.equal([[location.unit]]);
  });

  it('treats NoSuchUnit as done for killAll and remove', async () => {
    const gone: UnitLocation = { unit: 'machine-gone.scope', cgroupPath: '/machine.slice/machine-gone.scope', subgroup: '' };
    await backend.killAll(gone, 15);
    await backend.remove(gone);
    expect(fake.callsTo('StopUnit')).to.have.length(1);
  });

  it('reads members with GetUnitProcesses and attaches with AttachProcessesToUnit', async () => {
    const location = await backend.createScope(spec({ pids: [4242] }));
    await backend.attach({ ...location, subgroup: 'payload' }, 4343);
    expect(fake.callsTo('AttachProcessesToUnit').map((c) => c.args)).to.deep.equal([[location.unit, '/payload', [4343]]]);
    expect(await backend.members(location)).to.deep.equal([4242, 4343]);
    expect(await backend.members({ ...location, unit: 'machine-gone.scope' })).to.deep.equal([]);
  });

  it('exists() follows GetUnit', async () => {
    const location = await backend.createScope(spec());
    expect(await backend.exists(location)).to.equal(true);
    fake.endUnit(location.unit);
    expect(await backend.exists(location)).to.equal(false);
  });

  it('watchEmpty fires once on UnitRemoved', async () => {
    const location = await backend.createScope(spec());
    const fired = firstFired();
    const ready = watchReady(location.unit);
    backend.watchEmpty(location, fired.callback);
    await ready;
    fake.endUnit(location.unit, { propertiesChanged: false });
    await fired.promise;
    fake.emitUnitRemoved(location.unit);
    await backend.exists(location);
    expect(fired.count()).to.equal(1);
  });

  it('watchEmpty fires once when ActiveState turns inactive', async () => {
    const location = await backend.createScope(spec());
    const fired = firstFired();
    const ready = watchReady(location.unit);
    backend.watchEmpty(location, fired.callback);
    await ready;
    fake.endUnit(location.unit, { unitRemoved: false });
    await fired.promise;
    fake.endUnit(location.unit);
    await backend.exists(location);
    expect(fired.count()).to.equal(1);
  });

  it('watchEmpty fires at once for a unit that no longer exists', async () => {
    fake.notFoundStub('machine-gone.scope');
    const fired = firstFired();
    backend.watchEmpty({ unit: 'machine-gone.scope', cgroupPath: '/machine.slice/machine-gone.scope', subgroup: '' }, fired.callback);
    await fired.promise;
  });

  it('watchEmpty also fires on cgroup2 populated 0 before systemd says anything', async () => {
    const location = await backend.createScope(spec());
    const dir = join(layout.unified!, location.cgroupPath);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n');
    const fired = firstFired();
    const ready = watchReady(location.unit);
    backend.watchEmpty(location, fired.callback);
    await ready;
    await writeFile(join(dir, 'cgroup.events'), 'populated 0\nfrozen 0\n');
    await fired.promise;
    fake.endUnit(location.unit);
    await backend.exists(location);
    expect(fired.count()).to.equal(1);
  });

  it('reads accounting from the unit, UINT64_MAX meaning unavailable', async () => {
    const location = await backend.createScope(spec());
    expect(await backend.accounting(location)).to.deep.equal({ cpuUsageNsec: 123_000n, tasksCurrent: 2n });
    expect(await backend.accounting({ ...location, unit: 'machine-gone.scope' })).to.deep.equal({});
  });

  /** A /proc of our own: PID → the lines of its cgroup file. */
  async function fakeProc(files: Record<number, string>): Promise<string> {
    const root = join(cgroupRoot, `proc${++counter}`);
    for (const [pid, text] of Object.entries(files)) {
      await mkdir(join(root, pid), { recursive: true });
      await writeFile(join(root, pid, 'cgroup'), text);
    }
    return root;
  }

  it('unitOfPid reads the unit from /proc, as cg_pid_get_unit, and asks systemd nothing', async () => {
    const procRoot = await fakeProc({
      1: '1:name=systemd:/init.scope\n0::/init.scope\n',
      4242: '1:name=systemd:/elsewhere.scope\n0::/machine.slice/machine-x.scope/payload/inner\n',
      4343: '0::/system.slice/systemd-nspawn@a\\x2db.service\n',
      4444: '0::/user.slice/user-0.slice/_cpu.scope\n',
    });
    const fromProc = new SystemdBackend(client, { layout, callTimeoutMs: 5000, procRoot });
    try {
      expect(await fromProc.unitOfPid(4242)).to.deep.equal(
        { unit: 'machine-x.scope', cgroupPath: '/machine.slice/machine-x.scope', subgroup: 'payload/inner' });
      expect(await fromProc.unitOfPid(4343)).to.deep.equal(
        { unit: 'systemd-nspawn@a\\x2db.service', cgroupPath: '/system.slice/systemd-nspawn@a\\x2db.service', subgroup: '' });
      expect(await fromProc.unitOfPid(4444)).to.deep.equal(
        { unit: 'cpu.scope', cgroupPath: '/user.slice/user-0.slice/_cpu.scope', subgroup: '' });
      expect(fake.calls).to.deep.equal([]);
    } finally {
      await fromProc.close();
    }
  });

  it('unitOfPid reads paths below the cgroup of a systemd in a container without a cgroup namespace', async () => {
    const procRoot = await fakeProc({
      1: '0::/machine.slice/machine-c.scope/init.scope\n',
      4242: '0::/machine.slice/machine-c.scope/system.slice/foo.service\n',
    });
    const nested = new SystemdBackend(client, { layout, callTimeoutMs: 5000, procRoot });
    try {
      expect(await nested.unitOfPid(4242)).to.deep.equal({ unit: 'foo.service', cgroupPath: '/system.slice/foo.service', subgroup: '' });
      expect(fake.calls).to.deep.equal([]);
    } finally {
      await nested.close();
    }
  });

  it('unitOfPid asks GetUnitByPID only when /proc names no unit', async () => {
    // PIDs no other test's fake unit holds.
    const location = await backend.createScope(spec({ pids: [45454] }));
    const procRoot = await fakeProc({ 1: '0::/init.scope\n', 45454: '0::/machine.slice\n', 45455: '0::/\n' });
    const viaBus = new SystemdBackend(client, { layout, callTimeoutMs: 5000, procRoot });
    try {
      fake.calls.length = 0;
      expect(await viaBus.unitOfPid(45454)).to.deep.equal(location);
      expect(await viaBus.unitOfPid(45455)).to.equal(null);
      expect(fake.callsTo('GetUnitByPID').map((c) => c.args)).to.deep.equal([[45454], [45455]]);
    } finally {
      await viaBus.close();
      fake.endUnit(location.unit);
    }
  });

  it('unitOfPid falls back to /proc when systemd knows no unit, and fails for a PID that does not exist', async () => {
    // This test process sits in no unit on this host (0::/), so /proc says null as well.
    const fromProc = await backend.unitOfPid(process.pid);
    expect(fromProc === null || typeof fromProc.unit === 'string').to.equal(true);
    const err = await backend.unitOfPid(2 ** 22 + 1).then(() => undefined, (e: unknown) => e);
    expect(err).to.include({ code: 'ESRCH' });
  });

  /**
   * watchEmpty sets up asynchronously (Subscribe, AddMatch, then a read of ActiveState): once the
   * fake sees that read, the match rules are in place and signals emitted from then on reach the backend.
   */
  function watchReady(unit: string): Promise<void> {
    return new Promise((resolve) => {
      const onCall = (member: string): void => {
        if (member !== 'Get' || fake.calls.at(-1)?.args[0] !== unit) return;
        fake.off('call', onCall);
        resolve();
      };
      fake.on('call', onCall);
    });
  }
});
