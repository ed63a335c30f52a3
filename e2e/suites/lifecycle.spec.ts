/**
 * A machine lives as long as its leader: leader exit is seen by a listening client as
 * MachineRemoved with the state file gone; a machined killed with SIGKILL and restarted lists the
 * same machines, minus those whose leader died in between.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync, mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import { machineScopeUnitName } from '@machined/protocol';
import { REPO_ROOT, leftoverCgroups, startMachined, startPrivateBus, testMachineName, track, trackPath, useStack, createMachine, listMachineNames, spawnLeader, waitUntil } from '../support/index.js';

const STATE = '/run/systemd/machines';
const M1 = { sender: 'org.freedesktop.machine1', path: '/org/freedesktop/machine1', interface: 'org.freedesktop.machine1.Manager' };

describe('machine lifecycle', function () {
  const stack = useStack();


  it('announces a new machine with MachineNew and writes its state file and unit link', async () => {
    const added = await stack.client.collectSignals({ ...M1, member: 'MachineNew' });
    const leader = await spawnLeader();
    const name = testMachineName('new');
    const path = await createMachine(stack.client, name, leader.pid!);
    const sig = await added.waitFor((m) => m.body[0] === name);
    expect(sig.body).to.deep.equal([name, path]);
    const text = readFileSync(`${STATE}/${name}`, 'utf8');
    expect(text).to.match(/^# This is private data\. Do not parse\.\nNAME=/);
    expect(text).to.contain(`LEADER=${leader.pid}\n`);
    expect(text).to.contain('CLASS=container\n');
    const unit = machineScopeUnitName(name);
    expect(readlinkSync(`${STATE}/unit:${unit}`)).to.equal(name);
    await added.stop();
    leader.kill('SIGKILL');
  });

  it('removes the machine when its leader exits: MachineRemoved, state file and cgroup gone', async () => {
    const removed = await stack.client.collectSignals({ ...M1, member: 'MachineRemoved' });
    const leader = await spawnLeader();
    const name = testMachineName('exit');
    const path = await createMachine(stack.client, name, leader.pid!);
    leader.kill('SIGTERM');
    const sig = await removed.waitFor((m) => m.body[0] === name, 5000);
    expect(sig.body).to.deep.equal([name, path]);
    expect(existsSync(`${STATE}/${name}`)).to.equal(false);
    expect((await listMachineNames(stack.client)).includes(name)).to.equal(false);
    await waitUntil(() => leftoverCgroups().every((d) => !d.includes(name)), 'the scope cgroup to be removed');
    await removed.stop();
  });

  it('ends the machine when the leader exits even though other processes remain, and stops those', async () => {
    const leader = await spawnLeader();
    const name = testMachineName('orphans');
    await createMachine(stack.client, name, leader.pid!);
    // A second process in the scope, started by moving it in as a child would be.
    const other = await spawnLeader();
    const unit = machineScopeUnitName(name);
    const { writeFileSync } = await import('node:fs');
    for (const root of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd']) {
      if (existsSync(`${root}/machine.slice/${unit}`)) writeFileSync(`${root}/machine.slice/${unit}/cgroup.procs`, String(other.pid));
    }
    leader.kill('SIGKILL');
    await waitUntil(async () => !(await listMachineNames(stack.client)).includes(name), 'the machine to go after its leader');
    await waitUntil(() => other.signalCode !== null, 'the remaining process to be stopped');
    expect(other.signalCode).to.equal('SIGTERM');
  });

  it('survives kill -9 and restart: live machines come back, one whose leader died is dropped', async () => {
    const keep = await spawnLeader();
    const lose = await spawnLeader();
    const keepName = testMachineName('keep');
    const loseName = testMachineName('lose');
    await createMachine(stack.client, keepName, keep.pid!, { rootDirectory: '/srv/keep' });
    await createMachine(stack.client, loseName, lose.pid!);

    await stack.machined.kill9();
    lose.kill('SIGKILL');
    await waitUntil(() => lose.signalCode !== null, 'the leader to die while machined is down');
    expect(existsSync(`${STATE}/${loseName}`), 'state of the dead machine is still on disk').to.equal(true);

    stack.machined = await startMachined({ busAddress: stack.bus.address });
    const names = await listMachineNames(stack.client);
    expect(names).to.include(keepName);
    expect(names).not.to.include(loseName);
    expect(existsSync(`${STATE}/${loseName}`)).to.equal(false);
    const [path] = await stack.client.call('org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'GetMachine', 's', [keepName]);
    const [root] = await stack.client.call('org.freedesktop.machine1', path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', ['org.freedesktop.machine1.Machine', 'RootDirectory']);
    expect(root.value).to.equal('/srv/keep');
    const [byPid] = await stack.client.call('org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'GetMachineByPID', 'u', [keep.pid]);
    expect(byPid).to.equal(path);

    // And it still watches the restored machine.
    keep.kill('SIGKILL');
    await waitUntil(async () => !(await listMachineNames(stack.client)).includes(keepName), 'the restored machine to go with its leader');
  });

  it('tells the service manager it is ready: READY=1 on NOTIFY_SOCKET, after it owns its name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'machined-notify-'));
    trackPath(dir);
    const socket = join(dir, 'notify.sock');
    const receiver = track(spawn('/usr/bin/python3', [join(REPO_ROOT, 'e2e/fixtures/notify-receiver.py'), socket], { stdio: ['ignore', 'pipe', 'inherit'] }));
    let received = '';
    receiver.stdout!.on('data', (c: Buffer) => (received += c.toString()));
    await waitUntil(() => received.includes('listening'), 'the notify receiver to listen');
    const bus2 = await startPrivateBus();
    try {
      const second = await startMachined({ busAddress: bus2.address, env: { NOTIFY_SOCKET: socket }, stateDir: join(dir, 'state'), runtimeDir: join(dir, 'run') });
      await waitUntil(() => received.includes('READY=1'), 'READY=1');
      expect(received).to.contain(`MAINPID=${second.pid}`);
      await second.stop();
    } finally {
      await bus2.stop();
    }
  });

  it('refuses to start a second machined while the name is owned, and the first keeps serving', async () => {
    const second = await startMachined({ busAddress: stack.bus.address, waitReady: false, runtimeDir: stack.machined.runtimeDir });
    const exit = await second.exited;
    expect(exit.code).to.equal(1);
    expect(second.logs().join('\n')).to.contain('org.freedesktop.machine1 is already owned');
    expect(await listMachineNames(stack.client)).to.include('.host');
  });
});
