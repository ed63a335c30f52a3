/**
 * Callers that are not root (setpriv to nobody, real busctl): reading works, Create, Register,
 * Terminate and Kill are refused with AccessDenied (no polkit on this bus) and change nothing.
 */
import { expect } from 'chai';
import dbus from 'dbus-next';
import { machineObjectPath } from '@machined/protocol';
import { connectBus, runAsNobody, testMachineName, useStack, createMachine, listMachineNames, spawnLeader, type BusClient } from '../support/index.js';

describe('unprivileged callers', function () {
  const stack = useStack();
  let name: string;
  let leaderPid: number;

  const busctl = (...args: string[]) => runAsNobody('busctl', ['--address', stack.bus.address, ...args]);
  const callAsNobody = (member: string, signature: string, ...args: string[]) =>
    busctl('call', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', member, signature, ...args);

  before(async () => {
    leaderPid = (await spawnLeader()).pid!;
    name = testMachineName('priv');
    await createMachine(stack.client, name, leaderPid);
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
    const before = (await listMachineNames(stack.client)).sort();
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
    expect((await listMachineNames(stack.client)).sort()).to.deep.equal(before);
    expect(() => process.kill(leaderPid, 0)).not.to.throw();
  });

  it('may never register a leader it does not own (root-owned leader, the leader-ownership rule)', async () => {
    const r = await callAsNobody('RegisterMachine', 'sayssus', testMachineName('z'), '0', 'svc', 'container', String(leaderPid), '');
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/Access denied|Only root may register machines for other users/);
  });
});

/**
 * With polkit on the bus, machined asks it (CheckAuthorization with the caller's bus name) instead
 * of refusing outright. A stand-in polkit authority grants create-machine and answers every other
 * action with "needs interactive authentication".
 */
describe('unprivileged callers with polkit on the bus', function () {
  let polkit: BusClient;
  const asked: Array<{ action: string; subject: string; details: Record<string, string> }> = [];

  // The authority must own its name before machined serves its first call.
  const stack = useStack({}, async (bus) => {
    polkit = await connectBus(bus.address);
    polkit.bus.addMethodHandler((msg: InstanceType<typeof dbus.Message>) => {
      if (msg.interface !== 'org.freedesktop.PolicyKit1.Authority' || msg.member !== 'CheckAuthorization') return false;
      const [[, subject], action, details] = msg.body as [[string, Record<string, { value: string }>], string, Record<string, string>];
      asked.push({ action, subject: subject.name?.value ?? '', details });
      const grant = action === 'org.freedesktop.machine1.create-machine';
      polkit.bus.send(dbus.Message.newMethodReturn(msg, '(bba{ss})', [[grant, !grant, {}]]));
      return true;
    });
    await polkit.bus.requestName('org.freedesktop.PolicyKit1', 4);
  });
  after(() => polkit?.close());

  it('creates a machine for nobody when polkit grants create-machine, with the caller as leader', async () => {
    const name = testMachineName('polkit');
    // Leader 0 means the caller: busctl itself, which exits right after; the reply is what counts.
    const r = await runAsNobody('busctl', ['--address', stack.bus.address, 'call', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'CreateMachine', 'sayssusa(sv)', name, '0', 'svc', 'container', '0', '', '0']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(`o "${machineObjectPath(name)}"`);
    const q = asked.find((a) => a.details.name === name);
    expect(q).to.deep.include({ action: 'org.freedesktop.machine1.create-machine' });
    expect(q!.subject).to.match(/^:\d+\.\d+$/);
    expect(q!.details).to.deep.equal({ name, class: 'container' });
  });

  it('answers InteractiveAuthorizationRequired when polkit wants a password and the caller allows no interaction', async () => {
    const leader = await spawnLeader();
    const name = testMachineName('polkit2');
    await createMachine(stack.client, name, leader.pid!);
    const r = await runAsNobody('busctl', ['--address', stack.bus.address, '--allow-interactive-authorization=no', 'call', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'TerminateMachine', 's', name]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('Interactive authentication required.');
    expect(asked.some((a) => a.action === 'org.freedesktop.machine1.manage-machines' && a.details.verb === 'terminate')).to.equal(true);
    expect(await listMachineNames(stack.client)).to.include(name);
    leader.kill('SIGKILL');
  });
});
