/**
 * Callers that are not root (setpriv to nobody, real busctl): reading works, Create, Register,
 * Terminate and Kill are refused with AccessDenied (no polkit on this bus) and change nothing.
 */
import { expect } from 'chai';
import { connectBus, runAsNobody, startMachined, startPrivateBus, testMachineName, type BusClient, type MachinedProcess, type PrivateBus } from '../support/index.js';
import { createMachine, listMachineNames, spawnLeader } from '../support/machines.js';

describe('unprivileged callers', function () {
  let bus: PrivateBus;
  let machined: MachinedProcess;
  let client: BusClient;
  let name: string;
  let leaderPid: number;

  const busctl = (...args: string[]) => runAsNobody('busctl', ['--address', bus.address, ...args]);
  const callAsNobody = (member: string, signature: string, ...args: string[]) =>
    busctl('call', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', member, signature, ...args);

  before(async () => {
    bus = await startPrivateBus();
    machined = await startMachined({ busAddress: bus.address });
    client = await connectBus(bus.address);
    leaderPid = (await spawnLeader()).pid!;
    name = testMachineName('priv');
    await createMachine(client, name, leaderPid);
  });
  after(async () => {
    client?.close();
    await machined?.stop();
    await bus?.stop();
  });

  it('may list and get machines and read their properties', async () => {
    const list = await callAsNobody('ListMachines', '');
    expect(list.code, list.stderr).to.equal(0);
    expect(list.stdout).to.contain(`"${name}"`);
    const get = await callAsNobody('GetMachine', 's', name);
    expect(get.code, get.stderr).to.equal(0);
    const prop = await busctl('get-property', 'org.freedesktop.machine1', get.stdout.trim().split(' ')[1]!.replace(/"/g, ''), 'org.freedesktop.machine1.Machine', 'Leader');
    expect(prop.stdout.trim()).to.equal(`u ${leaderPid}`);
  });

  it('may not create, register, terminate or kill, and nothing changes', async () => {
    const before = (await listMachineNames(client)).sort();
    const attempts = [
      await callAsNobody('CreateMachine', 'sayssusa(sv)', testMachineName('x'), '0', 'svc', 'container', '0', '', '0'),
      await callAsNobody('RegisterMachine', 'sayssus', testMachineName('y'), '0', 'svc', 'container', '0', ''),
      await callAsNobody('TerminateMachine', 's', name),
      await callAsNobody('KillMachine', 'ssi', name, 'all', '9'),
      await callAsNobody('UnregisterMachine', 's', name),
    ];
    for (const r of attempts) {
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/Access denied/i);
    }
    expect((await listMachineNames(client)).sort()).to.deep.equal(before);
    expect(() => process.kill(leaderPid, 0)).not.to.throw();
  });

  it('may never register a leader it does not own (root-owned leader, the leader-ownership rule)', async () => {
    const r = await callAsNobody('RegisterMachine', 'sayssus', testMachineName('z'), '0', 'svc', 'container', String(leaderPid), '');
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/Access denied|Only root may register machines for other users/);
  });
});
