import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessageBus } from 'dbus-next';
import { selectScopeBackend, systemdIsServiceManager } from './select-backend.js';
import { connectBus, startPrivateBus, type PrivateBus } from './testing/private-bus.js';

const HYBRID_MOUNTINFO = `\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

/**
 * The three conditions for handing scopes to systemd, each faked in a temporary directory: the
 * sd_booted() marker, PID 1's comm, and an owner of org.freedesktop.systemd1 on a private bus.
 */
describe('selectScopeBackend', function () {
  let bus: PrivateBus;
  let client: MessageBus;
  let systemd: MessageBus;
  let dir: string;
  let runtimeDir: string;
  let procRoot: string;
  let mountinfoPath: string;

  async function setPid1(comm: string): Promise<void> {
    await writeFile(join(procRoot, '1', 'comm'), `${comm}\n`);
  }

  before(async () => {
    bus = await startPrivateBus();
    client = await connectBus(bus.address);
    systemd = await connectBus(bus.address);
    dir = await mkdtemp(join(tmpdir(), 'cgroup-select-'));
    runtimeDir = join(dir, 'run-systemd-system');
    procRoot = join(dir, 'proc');
    mountinfoPath = join(dir, 'mountinfo');
    await mkdir(join(procRoot, '1'), { recursive: true });
    await writeFile(mountinfoPath, HYBRID_MOUNTINFO);
  });

  after(async () => {
    client?.disconnect();
    systemd?.disconnect();
    await bus?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await mkdir(runtimeDir, { recursive: true });
    await setPid1('systemd');
    await systemd.requestName('org.freedesktop.systemd1', 0);
  });

  const probe = (): Parameters<typeof systemdIsServiceManager>[0] => ({ bus: client, systemdRuntimeDir: runtimeDir, procRoot });

  it('picks systemd when booted with systemd as PID 1 owning org.freedesktop.systemd1', async () => {
    const backend = await selectScopeBackend({ ...probe(), mountinfoPath });
    expect(backend.kind).to.equal('systemd');
    expect(backend.hierarchy).to.equal('hybrid');
    await backend.close();
  });

  it('picks cgroupfs when /run/systemd/system is missing', async () => {
    await rm(runtimeDir, { recursive: true });
    expect(await systemdIsServiceManager(probe())).to.equal(false);
  });

  it('picks cgroupfs when PID 1 is not systemd, even with /run/systemd/system present', async () => {
    await setPid1('process_api');
    expect(await systemdIsServiceManager(probe())).to.equal(false);
    const backend = await selectScopeBackend({ ...probe(), mountinfoPath });
    expect(backend.kind).to.equal('cgroupfs');
    await backend.close();
  });

  it('picks cgroupfs when nobody owns org.freedesktop.systemd1', async () => {
    await systemd.releaseName('org.freedesktop.systemd1');
    expect(await systemdIsServiceManager(probe())).to.equal(false);
  });

  it('does not mistake machined\'s own org.freedesktop.systemd1 for systemd', async () => {
    await systemd.releaseName('org.freedesktop.systemd1');
    await client.requestName('org.freedesktop.systemd1', 0);
    try {
      expect(await systemdIsServiceManager(probe())).to.equal(false);
    } finally {
      await client.releaseName('org.freedesktop.systemd1');
    }
  });

  it('picks cgroupfs without a bus, and honours prefer', async () => {
    expect(await systemdIsServiceManager({ systemdRuntimeDir: runtimeDir, procRoot })).to.equal(false);
    const forced = await selectScopeBackend({ ...probe(), mountinfoPath, prefer: 'cgroupfs' });
    expect(forced.kind).to.equal('cgroupfs');
    await setPid1('init');
    const systemdForced = await selectScopeBackend({ ...probe(), mountinfoPath, prefer: 'systemd' });
    expect(systemdForced.kind).to.equal('systemd');
    await systemdForced.close();
    let err: unknown;
    await selectScopeBackend({ mountinfoPath, prefer: 'systemd' }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(Error);
  });

  it('picks cgroupfs on a host whose PID 1 is not systemd', async function () {
    if ((await readFile('/proc/1/comm', 'utf8')).trim() === 'systemd') this.skip();
    const backend = await selectScopeBackend({ bus: client });
    expect(backend.kind).to.equal('cgroupfs');
    await backend.close();
  });
});
