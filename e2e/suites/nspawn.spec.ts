/**
 * Debian's systemd-nspawn registering real containers (busybox root file system) with machined:
 * CreateMachineWithNetwork by default, RegisterMachineWithNetwork with --keep-unit. The container
 * shows in real machinectl, `ps -o machine` names its processes, terminate ends it, and nothing is
 * left in /run/systemd/machines or the cgroup tree afterwards.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineScopeUnitName, unitNameEscape } from '@machined/protocol';
import { busyboxRootfs, leftoverCgroups, run, spawnNspawn, testMachineName, useStack, callManager, listMachineNames, waitUntil, type NspawnContainer } from '../support/index.js';

const UNIFIED = '/sys/fs/cgroup/unified';

/** Every PID below a cgroup directory, sub-cgroups (nspawn's payload) included. */
function pidsBelow(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const own = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  const subs = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory());
  return [...own, ...subs.flatMap((d) => pidsBelow(join(dir, d.name)))];
}

describe('real systemd-nspawn registering with machined', function () {
  this.timeout(120000);
  const stack = useStack({ extraArgs: ['--terminate-timeout', '2'] });
  let rootfs: string;
  const machinectl = (...args: string[]) =>
    run('machinectl', ['--no-pager', ...args], { env: { DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0' } });

  before(async () => {
    rootfs = await busyboxRootfs();
  });

  async function unitOf(name: string): Promise<{ unit: string; leader: number }> {
    const [path] = await callManager(stack.client, 'GetMachine', [name]);
    const get = async (p: string) =>
      (await stack.client.call('org.freedesktop.machine1', path as string, 'org.freedesktop.DBus.Properties', 'Get', 'ss', ['org.freedesktop.machine1.Machine', p]))[0].value;
    return { unit: await get('Unit'), leader: await get('Leader') };
  }

  async function expectMachineProcessesNamed(name: string, cgroupDir: string): Promise<void> {
    const pids = await waitUntil(() => {
      const p = pidsBelow(cgroupDir);
      return p.length >= 2 ? p : undefined;
    }, 'the container processes in the cgroup');
    const ps = await run('ps', ['-o', 'pid=,machine=', '-p', pids.join(',')]);
    const rows = ps.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(rows.length).to.be.greaterThan(0);
    for (const [pid, machine] of rows) expect(machine, `machine of PID ${pid}`).to.equal(name);
  }

  async function expectNothingLeft(name: string, container: NspawnContainer): Promise<void> {
    await waitUntil(async () => !(await listMachineNames(stack.client)).includes(name), 'the machine to go');
    await container.exited;
    await waitUntil(() => !existsSync(`/run/systemd/machines/${name}`), 'the state file to go');
    expect(readdirSync('/run/systemd/machines').filter((f) => f.includes(name))).to.deep.equal([]);
  }

  it('CreateMachineWithNetwork: listed by machinectl, processes named by ps, terminated, nothing left', async () => {
    const name = testMachineName('nspawn');
    const container = spawnNspawn({ name, rootfs, busAddress: stack.bus.address, command: ['/bin/sh', '-c', 'sleep 1000 & wait'] });
    await waitUntil(async () => (await listMachineNames(stack.client)).includes(name), 'nspawn to register', 30000);

    const { unit } = await unitOf(name);
    expect(unit).to.equal(machineScopeUnitName(name));
    const list = await machinectl('list');
    expect(list.stdout).to.match(new RegExp(`^${name}\\s+container\\s+systemd-nspawn\\s`, 'm'));
    await expectMachineProcessesNamed(name, join(UNIFIED, 'machine.slice', unit));

    const term = await machinectl('terminate', name);
    expect(term.code, term.stderr).to.equal(0);
    await expectNothingLeft(name, container);
    await waitUntil(() => !existsSync(join(UNIFIED, 'machine.slice', unit)), 'the scope cgroup (and nspawn\'s payload) to be removed');
    expect(leftoverCgroups().filter((d) => d.includes(name))).to.deep.equal([]);
  });

  it('--keep-unit: RegisterMachineWithNetwork takes the service unit and survives the move to payload', async () => {
    const name = testMachineName('keep');
    const container = spawnNspawn({ name, rootfs, busAddress: stack.bus.address, keepUnit: true, command: ['/bin/sh', '-c', 'sleep 1000 & wait'] });
    await waitUntil(async () => (await listMachineNames(stack.client)).includes(name), 'nspawn to register', 30000);

    const { unit } = await unitOf(name);
    expect(unit).to.equal(`systemd-nspawn@${unitNameEscape(name)}.service`);
    // nspawn moves the container into payload/ after registering: the machine must stay.
    await waitUntil(() => existsSync(join(UNIFIED, container.serviceCgroup!, 'payload')), 'nspawn to create payload');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await listMachineNames(stack.client)).to.include(name);
    await expectMachineProcessesNamed(name, join(UNIFIED, container.serviceCgroup!, 'payload'));

    const term = await machinectl('terminate', name);
    expect(term.code, term.stderr).to.equal(0);
    await expectNothingLeft(name, container);
  });

  it('a container that exits on its own unregisters and leaves nothing behind', async () => {
    const name = testMachineName('short');
    const container = spawnNspawn({ name, rootfs, busAddress: stack.bus.address, command: ['/bin/sh', '-c', 'sleep 2'] });
    await waitUntil(async () => (await listMachineNames(stack.client)).includes(name), 'nspawn to register', 30000);
    const { unit } = await unitOf(name);
    const exit = await container.exited;
    expect(exit.code, container.output().join('\n')).to.equal(0);
    await expectNothingLeft(name, container);
    await waitUntil(() => !existsSync(join(UNIFIED, 'machine.slice', unit)), 'the scope cgroup to be removed');
  });
});
