/**
 * The slice of org.freedesktop.systemd1 machined answers where PID 1 is not systemd: real
 * machinectl status shows the machine's process tree (no "Failed to query unit control group
 * path"), systemd-nspawn stops gracefully on RequestStop, units have systemd's paths, properties,
 * jobs and errors, and nothing else pretends to be systemd.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineScopeUnitName, systemdUnitObjectPath } from '@machined/protocol';
import {
  busyboxRootfs,
  copyBusyboxRootfs,
  callManager,
  connectBus,
  createMachine,
  errorOf,
  listMachineNames,
  run,
  spawnLeader,
  spawnNspawn,
  startMachined,
  startPrivateBus,
  testMachineName,
  trackPath,
  useStack,
  waitUntil,
} from '../support/index.js';

const SD = 'org.freedesktop.systemd1';
const SD_PATH = '/org/freedesktop/systemd1';
const SD_MANAGER = 'org.freedesktop.systemd1.Manager';

describe('org.freedesktop.systemd1 slice', function () {
  this.timeout(120000);
  const stack = useStack({ extraArgs: ['--terminate-timeout', '30'] });
  const sd = (member: string, signature: string, body: unknown[]) => stack.client.call(SD, SD_PATH, SD_MANAGER, member, signature, body);
  const machinectl = (...args: string[]) =>
    run('machinectl', ['--no-pager', ...args], { env: { DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0' } });

  it('is owned by machined on a host whose PID 1 is not systemd', async () => {
    expect(await stack.client.nameHasOwner(SD)).to.equal(true);
  });

  it('lets real machinectl status show the process tree of a machine, with no error line', async () => {
    const leader = await spawnLeader();
    const name = testMachineName('tree');
    await createMachine(stack.client, name, leader.pid!);
    const r = await machinectl('status', name);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).not.to.contain('Failed to query unit control group path');
    expect(r.stdout).to.match(new RegExp(`└─${leader.pid} sleep 3600`));
    leader.kill('SIGKILL');
  });

  it("serves machine units with systemd's paths, properties and errors", async () => {
    const leader = await spawnLeader();
    const name = testMachineName('unit');
    await createMachine(stack.client, name, leader.pid!, { scopeProperties: [['Description', 's', 'e2e box']] });
    const unit = machineScopeUnitName(name);
    expect(await sd('GetUnit', 's', [unit])).to.deep.equal([systemdUnitObjectPath(unit)]);
    expect(await sd('GetUnitByPID', 'u', [leader.pid])).to.deep.equal([systemdUnitObjectPath(unit)]);
    const [procs] = await sd('GetUnitProcesses', 's', [unit]);
    expect(procs).to.deep.equal([[`/machine.slice/${unit}`, leader.pid, 'sleep 3600']]);
    const props = await run('busctl', ['--address', stack.bus.address, 'get-property', SD, systemdUnitObjectPath(unit), 'org.freedesktop.systemd1.Unit', 'Id', 'Description', 'LoadState', 'ActiveState']);
    // busctl prints strings C-escaped: the unit name's backslashes come out doubled.
    const printed = (x: string) => x.replace(/\\/g, '\\\\');
    expect(props.stdout).to.equal(`s "${printed(unit)}"\ns "e2e box"\ns "loaded"\ns "active"\n`);
    const cg = await run('busctl', ['--address', stack.bus.address, 'get-property', SD, systemdUnitObjectPath(unit), 'org.freedesktop.systemd1.Scope', 'ControlGroup']);
    expect(cg.stdout).to.equal(`s "/machine.slice/${printed(unit)}"\n`);

    expect(await errorOf(sd('GetUnit', 's', ['ssh.service']))).to.deep.equal({ name: 'org.freedesktop.systemd1.NoSuchUnit', message: 'Unit ssh.service not loaded.' });
    expect((await errorOf(sd('GetUnitByPID', 'u', [process.pid]))).name).to.equal('org.freedesktop.systemd1.NoUnitForPID');
    const list = await run('busctl', ['--address', stack.bus.address, 'call', SD, SD_PATH, SD_MANAGER, 'ListUnits']);
    expect(list.code).to.not.equal(0);
    expect(list.stderr).to.contain('Unknown method ListUnits');
    leader.kill('SIGKILL');
  });

  it('StopUnit answers with a job, announces JobNew and JobRemoved "done", and the machine goes', async () => {
    const leader = await spawnLeader();
    const name = testMachineName('stop');
    await createMachine(stack.client, name, leader.pid!);
    const unit = machineScopeUnitName(name);
    const jobs = await stack.client.collectSignals({ sender: SD, interface: SD_MANAGER, member: 'JobRemoved' });
    const [job] = await sd('StopUnit', 'ss', [unit, 'replace']);
    expect(job).to.match(/^\/org\/freedesktop\/systemd1\/job\/\d+$/);
    const removed = await jobs.waitFor((m) => m.body[1] === job);
    expect(removed.body.slice(2)).to.deep.equal([unit, 'done']);
    expect(await listMachineNames(stack.client)).not.to.include(name);
    await jobs.stop();
  });

  it('KillUnit signals the machine; SetUnitProperties refuses what it cannot enforce', async () => {
    const leader = await spawnLeader();
    const name = testMachineName('kill');
    await createMachine(stack.client, name, leader.pid!);
    const unit = machineScopeUnitName(name);
    const { default: dbus } = await import('dbus-next');
    const bogus = await errorOf(sd('SetUnitProperties', 'sba(sv)', [unit, true, [['CPUQuotaPerSecUSec', new dbus.Variant('t', 1000n)]]]));
    expect(bogus.name).to.equal('org.freedesktop.DBus.Error.NotSupported');
    expect(bogus.message).to.contain('CPUQuotaPerSecUSec');
    const memoryMax = `/sys/fs/cgroup/unified/machine.slice/${unit}/memory.max`;
    const memory = sd('SetUnitProperties', 'sba(sv)', [unit, true, [['MemoryMax', new dbus.Variant('t', 1n << 30n)]]]);
    if (existsSync(memoryMax)) {
      await memory;
    } else {
      // No memory controller in cgroup2 here, and the v1 one is not ours to use: refused, never ignored.
      expect((await errorOf(memory)).name).to.equal('org.freedesktop.DBus.Error.NotSupported');
    }
    await sd('KillUnit', 'ssi', [unit, 'all', 9]);
    await waitUntil(() => leader.signalCode === 'SIGKILL', 'SIGKILL from KillUnit');
  });

  it('works for a libvirt-shaped client: CreateMachineWithNetwork with Slice/After/Before, SetUnitProperties TasksMax, terminate', async () => {
    const { default: dbus } = await import('dbus-next');
    const leader = await spawnLeader();
    const name = testMachineName('qemu');
    await createMachine(stack.client, name, leader.pid!, {
      class: 'vm',
      service: 'libvirt-qemu',
      ifindices: [],
      scopeProperties: [
        ['Slice', 's', 'machine.slice'],
        ['After', 'as', ['libvirtd.service', 'virtqemud.service']],
        ['Before', 'as', ['virt-guest-shutdown.target']],
      ],
    });
    const unit = machineScopeUnitName(name);
    // libvirt looks the unit up by the machine's leader, then limits its tasks.
    expect(await sd('GetUnitByPID', 'u', [leader.pid])).to.deep.equal([systemdUnitObjectPath(unit)]);
    await sd('SetUnitProperties', 'sba(sv)', [unit, true, [['TasksMax', new dbus.Variant('t', 4096n)]]]);
    const tasks = await run('busctl', ['--address', stack.bus.address, 'get-property', SD, systemdUnitObjectPath(unit), 'org.freedesktop.systemd1.Scope', 'TasksMax']);
    expect(tasks.stdout).to.equal('t 4096\n');
    const v1 = `/sys/fs/cgroup/pids/machine.slice/${unit}`;
    if (!existsSync(`/sys/fs/cgroup/unified/machine.slice/${unit}/pids.max`)) {
      expect(readFileSync(`${v1}/pids.max`, 'utf8').trim()).to.equal('4096');
    }
    await callManager(stack.client, 'TerminateMachine', [name]);
    await waitUntil(async () => !(await listMachineNames(stack.client)).includes(name), 'the VM to go');
    // libvirt treats NoSuchMachine on a second terminate as success.
    expect((await errorOf(callManager(stack.client, 'TerminateMachine', [name]))).name).to.equal('org.freedesktop.machine1.NoSuchMachine');
    await waitUntil(() => !existsSync(v1) && !existsSync(`/sys/fs/cgroup/unified/machine.slice/${unit}`), 'every cgroup of the VM to go');
  });

  it('terminates a systemd-nspawn container gracefully through RequestStop, sent to its nspawn alone', async () => {
    const name = testMachineName('graceful');
    const bystander = testMachineName('bystander');
    const container = spawnNspawn({ name, rootfs: await busyboxRootfs(), busAddress: stack.bus.address, command: ['/bin/sh', '-c', 'sleep 1000 & wait'] });
    // nspawn locks its directory: the second container needs its own copy.
    const otherRoot = await copyBusyboxRootfs(trackPath(join(mkdtempSync(join(tmpdir(), 'systemd1-bystander-')), 'root')));
    const other = spawnNspawn({ name: bystander, rootfs: otherRoot, busAddress: stack.bus.address, command: ['/bin/sh', '-c', 'sleep 1000 & wait'] });
    await waitUntil(async () => {
      const names = await listMachineNames(stack.client);
      return names.includes(name) && names.includes(bystander);
    }, 'both nspawns to register', 30000);
    const term = await machinectl('terminate', name);
    expect(term.code, term.stderr).to.equal(0);
    await container.exited;
    expect(container.output().join('\n')).to.contain('Container termination requested. Exiting.');
    await waitUntil(async () => !(await listMachineNames(stack.client)).includes(name), 'the machine to go');
    // RequestStop is unicast to the scope's Controller: the other nspawn never saw it.
    expect(await listMachineNames(stack.client)).to.include(bystander);
    expect(other.output().join('\n')).not.to.contain('Container termination requested');
    expect((await machinectl('terminate', bystander)).code).to.equal(0);
    await other.exited;
  });
});

describe('org.freedesktop.systemd1 slice: when not to offer it', function () {
  it('is not offered with --systemd1=off, nor when another process owns the name', async () => {
    const bus = await startPrivateBus();
    try {
      const off = await startMachined({ busAddress: bus.address, extraArgs: ['--systemd1', 'off'], stateDir: '/run/systemd/machines' });
      const client = await connectBus(bus.address);
      expect(await client.nameHasOwner(SD)).to.equal(false);
      await off.stop();

      // Someone else holds the name: machined must leave it alone.
      await client.bus.requestName(SD, 4);
      const other = await startMachined({ busAddress: bus.address });
      const [owner] = await client.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetNameOwner', 's', [SD]);
      expect(owner).to.equal(client.uniqueName);
      expect((await callManager(client, 'ListMachines', []))[0]).to.be.an('array');
      await other.stop();
      client.close();
    } finally {
      await bus.stop();
    }
  });
});
