/**
 * Starting pool images with real machinectl where PID 1 is not systemd: `machinectl start NAME`
 * asks machined's systemd1 for StartUnit("systemd-nspawn@NAME.service"), machined runs
 * systemd-nspawn with the arguments of upstream's template unit inside the unit's cgroup (or,
 * with nspawn hidden, its built-in unshare launcher), the container's own init runs as PID 1,
 * `machinectl status` shows the unit's process tree, terminate / poweroff stop it and nothing is
 * left: no cgroup, mount, state file. `machinectl enable` survives a restart of machined, which
 * then starts the machine; StartUnit of any other unit is refused as systemd refuses it.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busLabelEscape } from '@machined/protocol';
import { fileURLToPath } from 'node:url';
import {
  CGROUP_ROOTS,
  MACHINECTL_ENTRY,
  callManager,
  connectBus,
  copyBusyboxRootfs,
  errorOf,
  listMachineNames,
  run,
  startMachined,
  startPrivateBus,
  testMachineName,
  trackPath,
  useStack,
  waitUntil,
  type Stack,
} from '../support/index.js';

const POOL = '/var/lib/machines';
const SD = 'org.freedesktop.systemd1';
const SD_PATH = '/org/freedesktop/systemd1';
const SD_MANAGER = 'org.freedesktop.systemd1.Manager';
/** startMachined entry that runs machined inside MACHINED_E2E_NETNS (e2e/fixtures/in-netns.mjs). */
const IN_NETNS_ENTRY = fileURLToPath(new URL('../fixtures/in-netns.mjs', import.meta.url));
const serviceOf = (name: string) => `systemd-nspawn@${name}.service`;
const unitPath = (unit: string) => `${SD_PATH}/unit/${busLabelEscape(unit)}`;

/**
 * Pool images from the busybox tree (`init` replaces busybox's /sbin/init), each removed after its
 * test: later suites of the run share the pool and expect it empty. Call inside a describe().
 */
function useImages(): (name: string, init?: string) => Promise<string> {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return async (name, init) => {
    const dir = trackPath(await copyBusyboxRootfs(join(POOL, name)));
    made.push(dir);
    if (init !== undefined) {
      rmSync(join(dir, 'sbin/init'));
      writeFileSync(join(dir, 'sbin/init'), init);
      chmodSync(join(dir, 'sbin/init'), 0o755);
    }
    return dir;
  };
}

/** An init that powers off on SIGRTMIN+4 (38) as systemd does; busybox's init ignores that signal. */
const POWEROFF_INIT = '#!/bin/sh\ntrap "exit 0" 38\n: > /run/init-ready\nwhile :; do sleep 1; done\n';

/** The container's leader once it runs the image's init (nspawn registers it before the exec). */
async function initLeader(stack: Stack, name: string): Promise<number> {
  const leader = (await machineProperty(stack, name, 'Leader')) as number;
  await waitUntil(() => readFileSync(`/proc/${leader}/comm`, 'utf8').trim() === 'init', 'the image\'s init to run as the leader');
  return leader;
}

function machinectlOn(stack: Stack) {
  return (...args: string[]) =>
    run('machinectl', ['--no-pager', '--no-ask-password', ...args], {
      env: { DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0' },
      timeoutMs: 60000,
    });
}

async function machineProperty(stack: Stack, name: string, prop: string): Promise<unknown> {
  const [path] = await callManager(stack.client, 'GetMachine', [name]);
  const [v] = await stack.client.call('org.freedesktop.machine1', path as string, 'org.freedesktop.DBus.Properties', 'Get', 'ss', ['org.freedesktop.machine1.Machine', prop]);
  return (v as { value: unknown }).value;
}

async function unitProperty(stack: Stack, unit: string, iface: string, prop: string): Promise<unknown> {
  const [v] = await stack.client.call(SD, unitPath(unit), 'org.freedesktop.DBus.Properties', 'Get', 'ss', [`org.freedesktop.systemd1.${iface}`, prop]);
  return (v as { value: unknown }).value;
}

/** The PID a process has in its own (innermost) PID namespace. */
function innerPid(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('NSpid:'))!;
  return Number(line.trim().split(/\s+/).pop());
}

function unitCgroups(name: string): string[] {
  return CGROUP_ROOTS.map((root) => join(root, 'machine.slice', serviceOf(name))).filter((d) => existsSync(d));
}

async function expectNothingLeft(stack: Stack, name: string, imageDir: string): Promise<void> {
  await waitUntil(async () => !(await listMachineNames(stack.client)).includes(name), 'the machine to go', 30000);
  await waitUntil(() => unitCgroups(name).length === 0, 'the unit cgroup to be removed', 30000);
  expect(readdirSync('/run/systemd/machines').filter((f) => f.includes(name))).to.deep.equal([]);
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.to.contain(imageDir);
  expect(existsSync(`/run/systemd/nspawn/propagate/${name}`)).to.equal(false);
  await waitUntil(async () => (await errorOf(stack.client.call(SD, SD_PATH, SD_MANAGER, 'GetUnit', 's', [serviceOf(name)]))).name === 'org.freedesktop.systemd1.NoSuchUnit', 'the unit to be unloaded');
}

function startFlow(launcher: 'systemd-nspawn' | 'builtin') {
  const stack = useStack({
    extraArgs: ['--launcher', launcher, '--machine-network', 'private', '--terminate-timeout', '6', '--enabled-units-file', '/run/systemd/e2e-enabled-units'],
  });
  const machinectl = machinectlOn(stack);
  const makeImage = useImages();

  it('machinectl start: running with its own init as PID 1, status shows the unit tree, terminate leaves nothing', async () => {
    const name = testMachineName(launcher === 'builtin' ? 'bstart' : 'nstart');
    const image = await makeImage(name);
    const jobs = await stack.client.collectSignals({ sender: SD, member: 'JobRemoved' });

    const start = await machinectl('start', name);
    expect(start.code, start.stderr).to.equal(0);
    const removed = await jobs.waitFor((m) => m.body[2] === serviceOf(name));
    expect(removed.body[3]).to.equal('done');
    expect(await listMachineNames(stack.client)).to.include(name);

    const leader = await initLeader(stack, name);
    expect(innerPid(leader)).to.equal(1);
    expect(await machineProperty(stack, name, 'Unit')).to.equal(serviceOf(name));
    expect(await machineProperty(stack, name, 'RootDirectory')).to.equal(image);
    const hostname = await run('nsenter', ['-t', String(leader), '-u', 'cat', '/proc/sys/kernel/hostname']);
    expect(hostname.stdout.trim()).to.equal(name);

    expect(await unitProperty(stack, serviceOf(name), 'Unit', 'ActiveState')).to.equal('active');
    expect(await unitProperty(stack, serviceOf(name), 'Service', 'ControlGroup')).to.equal(`/machine.slice/${serviceOf(name)}`);
    const mainPid = (await unitProperty(stack, serviceOf(name), 'Service', 'MainPID')) as number;
    expect(readFileSync(`/proc/${mainPid}/comm`, 'utf8').trim()).to.equal(launcher === 'builtin' ? 'unshare' : 'systemd-nspawn');

    // Started already: the job is done at once and nothing starts twice.
    const again = await machinectl('start', name);
    expect(again.code, again.stderr).to.equal(0);
    expect(await machineProperty(stack, name, 'Leader')).to.equal(leader);

    const status = await machinectl('status', name);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stderr).to.equal('');
    expect(status.stdout).to.contain(`Unit: ${serviceOf(name)}`);
    expect(status.stdout).to.match(new RegExp(`─${leader} init`));
    expect(status.stdout).to.match(new RegExp(`─${mainPid} .*${launcher === 'builtin' ? 'unshare' : 'systemd-nspawn'}`));

    const term = await machinectl('terminate', name);
    expect(term.code, term.stderr).to.equal(0);
    await expectNothingLeft(stack, name, image);
    await jobs.stop();
  });

  it('machinectl poweroff: an init that powers off on SIGRTMIN+4 ends the machine, nothing left', async () => {
    const name = testMachineName(launcher === 'builtin' ? 'boff' : 'noff');
    const image = await makeImage(name, POWEROFF_INIT);
    const start = await machinectl('start', name);
    expect(start.code, start.stderr).to.equal(0);
    const leader = await initLeader(stack, name);
    expect(innerPid(leader)).to.equal(1);
    // The trap is set once the init wrote this (its /run is the container's own tmpfs).
    await waitUntil(() => existsSync(`/proc/${leader}/root/run/init-ready`), 'the init to handle SIGRTMIN+4');
    const off = await machinectl('poweroff', name);
    expect(off.code, off.stderr).to.equal(0);
    await expectNothingLeft(stack, name, image);
  });

  it('machinectl reboot: the container reboots and its unit starts it again, as systemd restarts it', async () => {
    const name = testMachineName(launcher === 'builtin' ? 'bboot' : 'nboot');
    const image = await makeImage(name);
    expect((await machinectl('start', name)).code).to.equal(0);
    const first = await initLeader(stack, name);
    // busybox's init runs its ctrlaltdel action on SIGINT: reboot.
    const reboot = await machinectl('reboot', name);
    expect(reboot.code, reboot.stderr).to.equal(0);
    const second = await waitUntil(async () => {
      const names = await listMachineNames(stack.client);
      if (!names.includes(name)) return undefined;
      const leader = (await machineProperty(stack, name, 'Leader').catch(() => first)) as number;
      return leader !== first ? leader : undefined;
    }, 'the machine to come back with a new init', 30000);
    await waitUntil(() => readFileSync(`/proc/${second}/comm`, 'utf8').trim() === 'init', 'the new init');
    expect(innerPid(second)).to.equal(1);
    expect((await machinectl('terminate', name)).code).to.equal(0);
    await expectNothingLeft(stack, name, image);
  });

  it('StopUnit of the service stops the machine with a job that ends "done"', async () => {
    const name = testMachineName(launcher === 'builtin' ? 'bstop' : 'nstop');
    const image = await makeImage(name);
    expect((await machinectl('start', name)).code).to.equal(0);
    const jobs = await stack.client.collectSignals({ sender: SD, member: 'JobRemoved' });
    const [job] = await stack.client.call(SD, SD_PATH, SD_MANAGER, 'StopUnit', 'ss', [serviceOf(name), 'replace']);
    const removed = await jobs.waitFor((m) => m.body[1] === job, 30000);
    expect(removed.body[3]).to.equal('done');
    await expectNothingLeft(stack, name, image);
    await jobs.stop();
  });

  it('a start of an image that is not in the pool fails its job; machinectl says so first', async () => {
    const name = testMachineName('noimage');
    const r = await machinectl('start', name);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`Machine image '${name}' does not exist.`);
    const jobs = await stack.client.collectSignals({ sender: SD, member: 'JobRemoved' });
    const [job] = await stack.client.call(SD, SD_PATH, SD_MANAGER, 'StartUnit', 'ss', [serviceOf(name), 'fail']);
    expect((await jobs.waitFor((m) => m.body[1] === job)).body[3]).to.equal('failed');
    expect(unitCgroups(name)).to.deep.equal([]);
    await jobs.stop();
  });
}

describe('machinectl start through systemd-nspawn', function () {
  this.timeout(180000);
  startFlow('systemd-nspawn');
});

describe('machinectl start through the built-in launcher (no systemd-nspawn)', function () {
  this.timeout(180000);
  startFlow('builtin');
});

/**
 * --machine-network veth (systemd-nspawn@.service's own setting): machined runs inside a network
 * namespace this test makes, so the host side of each machine's veth pair appears there, never in
 * the host's network; it must be gone once the machine stops.
 */
function vethFlow(launcher: 'systemd-nspawn' | 'builtin') {
  const netns = `${testMachineName('veth')}`;
  const vethLinks = async () =>
    (await run('ip', ['-n', netns, '-o', 'link', 'show'])).stdout
      .split('\n')
      .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined && n.startsWith('ve-'));
  before(async () => {
    const r = await run('ip', ['netns', 'add', netns]);
    if (r.code !== 0) throw new Error(`ip netns add ${netns}: ${r.stderr}`);
  });
  const stack = useStack({
    entry: IN_NETNS_ENTRY,
    env: { MACHINED_E2E_NETNS: netns },
    extraArgs: ['--launcher', launcher, '--machine-network', 'veth', '--terminate-timeout', '6', '--enabled-units-file', '/run/systemd/e2e-enabled-units'],
  });
  after(async () => {
    await run('ip', ['netns', 'del', netns]);
  });
  const machinectl = machinectlOn(stack);
  const makeImage = useImages();

  it('the host side of the veth pair exists while the machine runs, and goes with it', async () => {
    const name = testMachineName(launcher === 'builtin' ? 'bveth' : 'nveth');
    const image = await makeImage(name);
    expect(await vethLinks()).to.deep.equal([]);
    const start = await machinectl('start', name);
    expect(start.code, start.stderr).to.equal(0);
    const leader = await initLeader(stack, name);
    await waitUntil(async () => (await vethLinks()).length === 1, 'the host side of the veth pair');
    // The container side: host0 in the machine's own network namespace.
    const inside = await run('nsenter', ['-t', String(leader), '-n', 'ip', '-o', 'link', 'show', 'host0']);
    expect(inside.code, inside.stderr).to.equal(0);
    expect((await machinectl('terminate', name)).code).to.equal(0);
    await expectNothingLeft(stack, name, image);
    await waitUntil(async () => (await vethLinks()).length === 0, 'the veth pair to go');
  });
}

describe('machinectl start with --machine-network veth, through systemd-nspawn', function () {
  this.timeout(180000);
  vethFlow('systemd-nspawn');
});

describe('machinectl start with --machine-network veth, through the built-in launcher', function () {
  this.timeout(180000);
  vethFlow('builtin');
});

describe('systemd1 StartUnit of other units', function () {
  this.timeout(60000);
  const stack = useStack({ extraArgs: ['--enabled-units-file', '/run/systemd/e2e-enabled-units'] });

  it('answers a systemd-style NoSuchUnit, to busctl as to any client', async () => {
    const r = await run('busctl', ['--address', stack.bus.address, 'call', SD, SD_PATH, SD_MANAGER, 'StartUnit', 'ss', 'foo.service', 'fail']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr.trim()).to.equal('Call failed: Unit foo.service not found.');
    expect(await errorOf(stack.client.call(SD, SD_PATH, SD_MANAGER, 'StartUnit', 'ss', ['ssh.service', 'replace']))).to.deep.equal({
      name: 'org.freedesktop.systemd1.NoSuchUnit',
      message: 'Unit ssh.service not found.',
    });
    expect((await errorOf(stack.client.call(SD, SD_PATH, SD_MANAGER, 'StartUnit', 'ss', ['systemd-nspawn@x.service', 'sideways']))).name).to.equal(
      'org.freedesktop.DBus.Error.InvalidArgs',
    );
    expect(await errorOf(stack.client.call(SD, SD_PATH, SD_MANAGER, 'EnableUnitFiles', 'asbb', [['ssh.service'], false, false]))).to.deep.equal({
      name: 'org.freedesktop.systemd1.NoSuchUnit',
      message: 'Unit file ssh.service does not exist.',
    });
  });
});

describe('machinectl enable / disable (machined starts enabled machines when it starts)', function () {
  this.timeout(180000);
  let enabledFile: string;
  before(() => {
    enabledFile = join(trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-enable-'))), 'enabled-units');
  });
  const args = () => ['--launcher', 'builtin', '--machine-network', 'private', '--terminate-timeout', '6', '--enabled-units-file', enabledFile];
  const stack = {} as Stack;
  before(async () => {
    stack.bus = await startPrivateBus();
    stack.machined = await startMachined({ busAddress: stack.bus.address, extraArgs: args() });
    stack.client = await connectBus(stack.bus.address);
  });
  after(async () => {
    stack.client?.close();
    await stack.machined?.stop();
    await stack.bus?.stop();
  });
  const machinectl = machinectlOn(stack);
  const makeImage = useImages();
  const restartMachined = async () => {
    await stack.machined.stop();
    stack.machined = await startMachined({ busAddress: stack.bus.address, extraArgs: args() });
  };

  it('enable records the unit; machined started again brings the machine up; disable forgets it', async () => {
    const name = testMachineName('enable');
    const image = await makeImage(name);
    const enable = await machinectl('enable', name);
    expect(enable.code, enable.stderr).to.equal(0);
    expect(enable.stderr).to.contain(`Created symlink ${enabledFile} → ${serviceOf(name)}.`);
    // machinectl 252 enables the unit only (≥ 253 machines.target too, which is enabled by default).
    expect(readFileSync(enabledFile, 'utf8').split('\n')).to.include(serviceOf(name));
    expect(await listMachineNames(stack.client)).not.to.include(name);

    await restartMachined();
    await waitUntil(async () => (await listMachineNames(stack.client)).includes(name), 'the enabled machine to come up', 30000);
    const leader = await initLeader(stack, name);
    expect(innerPid(leader)).to.equal(1);

    // Running already: a further restart re-adopts it and starts nothing twice.
    await restartMachined();
    expect(await machineProperty(stack, name, 'Leader')).to.equal(leader);
    expect((await listMachineNames(stack.client)).filter((n) => n === name)).to.have.length(1);

    const disable = await machinectl('disable', name);
    expect(disable.code, disable.stderr).to.equal(0);
    expect(readFileSync(enabledFile, 'utf8').split('\n')).not.to.include(serviceOf(name));
    expect(disable.stderr).to.contain(`Removed "${enabledFile} (${serviceOf(name)})".`);

    const term = await machinectl('terminate', name);
    expect(term.code, term.stderr).to.equal(0);
    await expectNothingLeft(stack, name, image);
    // Disabled: machined starts without starting it (the enabled ones start before it says it serves).
    await restartMachined();
    await waitUntil(() => stack.machined.logs().some((l) => l.includes('Serving org.freedesktop.machine1')), 'machined to serve');
    expect(stack.machined.logs().filter((l) => l.includes(`Starting ${serviceOf(name)}`))).to.deep.equal([]);
    expect(await listMachineNames(stack.client)).not.to.include(name);
  });

  it('our machinectl enable --now starts the machine at once; disable --now powers it off', async () => {
    // machinectl 252 has no --now (253 added it); ours sends what 253 sends after the enable.
    const ours = (...a: string[]) =>
      run(process.execPath, [MACHINECTL_ENTRY, '--no-pager', '--no-ask-password', ...a], {
        env: { DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0', NODE_EXTRA_CA_CERTS: undefined },
        timeoutMs: 60000,
      });
    const name = testMachineName('now');
    const image = await makeImage(name, POWEROFF_INIT);
    const enable = await ours('enable', '--now', name);
    expect(enable.code, enable.stderr).to.equal(0);
    expect(readFileSync(enabledFile, 'utf8').split('\n')).to.include(serviceOf(name));
    const leader = await initLeader(stack, name);
    expect(innerPid(leader)).to.equal(1);
    await waitUntil(() => existsSync(`/proc/${leader}/root/run/init-ready`), 'the init to handle SIGRTMIN+4');

    const disable = await ours('disable', '--now', name);
    expect(disable.code, disable.stderr).to.equal(0);
    expect(readFileSync(enabledFile, 'utf8').split('\n')).not.to.include(serviceOf(name));
    await expectNothingLeft(stack, name, image);
  });
});
