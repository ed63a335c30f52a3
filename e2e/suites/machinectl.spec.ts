/**
 * Debian's own machinectl (systemd 252) against our machined: list, status, show, terminate and
 * kill of machines with real leader processes, and `ps -o machine` resolving them through the
 * state files. Runs inside run-in-namespace.sh, where /run/systemd is private.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { machineScopeUnitName } from '@machined/protocol';
import { run, testMachineName, useStack, createMachine, listMachineNames, spawnLeader, waitUntil, parseShowOutput } from '../support/index.js';

describe('real machinectl against machined', function () {
  const stack = useStack({ extraArgs: ['--terminate-timeout', '3'] });
  const machinectl = (...args: string[]) =>
    run('machinectl', ['--no-pager', ...args], { env: { DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0' } });


  it('lists a machine with its class and service, and hides .host unless --all', async () => {
    const leader = await spawnLeader();
    const name = testMachineName('list');
    await createMachine(stack.client, name, leader.pid!, { service: 'e2e-svc' });
    const r = await machinectl('list');
    expect(r.code, r.stderr).to.equal(0);
    // A sleep on the host as a "container": its OS is the host's, read through its root as upstream does.
    expect(r.stdout).to.match(new RegExp(`^${name}\\s+container\\s+e2e-svc\\s+\\S+\\s+\\S+\\s+-\\s*$`, 'm'));
    expect(r.stdout).to.match(/^\d+ machines listed\.$/m);
    expect(r.stdout).not.to.contain('.host');
    const all = await machinectl('list', '--all');
    expect(all.stdout).to.match(/^\.host\s+host\s/m);
    leader.kill('SIGKILL');
  });

  it('shows status: id, leader with its command, service, class, root and unit', async () => {
    const leader = await spawnLeader();
    const name = testMachineName('status');
    const id = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    await createMachine(stack.client, name, leader.pid!, { id, rootDirectory: '/srv/x' });
    const r = await machinectl('status', name);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`${name}(00112233445566778899aabbccddeeff)`);
    expect(r.stdout).to.contain(`Leader: ${leader.pid} (sleep)`);
    expect(r.stdout).to.contain('Service: e2e; class container');
    expect(r.stdout).to.contain('Root: /srv/x');
    expect(r.stdout).to.contain(`Unit: ${machineScopeUnitName(name)}`);
    leader.kill('SIGKILL');
  });

  it('shows properties as Key=Value, -p and --value, and the manager without a name', async () => {
    const leader = await spawnLeader();
    const name = testMachineName('show');
    await createMachine(stack.client, name, leader.pid!);
    const r = await machinectl('show', name);
    expect(r.code, r.stderr).to.equal(0);
    const kv = parseShowOutput(r.stdout);
    expect(kv).to.include({ Name: name, Class: 'container', Service: 'e2e', Leader: String(leader.pid), State: 'running' });
    expect(kv.Id).to.match(/^[0-9a-f]{32}$/);
    expect(Object.keys(kv)).to.deep.equal(['Name', 'Id', 'Timestamp', 'TimestampMonotonic', 'Service', 'Unit', 'Leader', 'Class', 'State']);
    const value = await machinectl('show', name, '-p', 'Leader', '--value');
    expect(value.stdout).to.equal(`${leader.pid}\n`);
    const mgr = await machinectl('show');
    expect(mgr.stdout).to.equal('PoolPath=/var/lib/machines\nPoolUsage=18446744073709551615\nPoolLimit=18446744073709551615\n');
    leader.kill('SIGKILL');
  });

  it('ps -o machine,unit names the processes of a machine (sd_pid_get_machine_name)', async () => {
    const leader = await spawnLeader();
    const name = testMachineName('ps');
    await createMachine(stack.client, name, leader.pid!);
    const r = await run('ps', ['-o', 'machine=,unit=', '-p', String(leader.pid)]);
    expect(r.stdout.trim().split(/\s+/)).to.deep.equal([name, machineScopeUnitName(name)]);
    leader.kill('SIGKILL');
  });

  it('terminate ends every process of the machine and removes its state', async () => {
    const leader = await spawnLeader();
    const name = testMachineName('term');
    await createMachine(stack.client, name, leader.pid!);
    const r = await machinectl('terminate', name);
    expect(r.code, r.stderr).to.equal(0);
    await waitUntil(async () => !(await listMachineNames(stack.client)).includes(name), 'the machine to go');
    await waitUntil(() => leader.exitCode !== null || leader.signalCode !== null, 'the leader to die');
    expect(leader.signalCode).to.equal('SIGTERM');
    expect(existsSync(`/run/systemd/machines/${name}`)).to.equal(false);
  });

  it('kill --signal=KILL kills all; kill --kill-whom=leader -s USR1 signals only the leader', async () => {
    const a = await spawnLeader();
    const nameA = testMachineName('killall');
    await createMachine(stack.client, nameA, a.pid!);
    expect((await machinectl('kill', nameA, '--signal=KILL')).code).to.equal(0);
    await waitUntil(() => a.signalCode === 'SIGKILL', 'SIGKILL to arrive');

    const b = await spawnLeader();
    const nameB = testMachineName('killleader');
    await createMachine(stack.client, nameB, b.pid!);
    expect((await machinectl('kill', nameB, '--kill-whom=leader', '-s', 'USR1')).code).to.equal(0);
    await waitUntil(() => b.signalCode === 'SIGUSR1', 'SIGUSR1 to arrive');
    await waitUntil(async () => !(await listMachineNames(stack.client)).some((n) => n === nameA || n === nameB), 'both machines to go');
  });

  it('reports an unknown machine the way upstream does', async () => {
    const r = await machinectl('terminate', 'no-such-machine');
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain("No machine 'no-such-machine' known");
  });
});
