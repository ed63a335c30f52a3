/**
 * Bad input to CreateMachine and friends: each call gets upstream's D-Bus error, nothing about the
 * registry or the state directory changes, and machined goes on serving.
 */
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { run, testMachineName, useStack, callManager, createMachine, errorOf, listMachineNames, spawnLeader } from '../support/index.js';

const INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs';

describe('bad input', function () {
  const stack = useStack();
  let leaderPid: number;
  let existing: string;

  before(async () => {
    leaderPid = (await spawnLeader()).pid!;
    existing = testMachineName('exists');
    await createMachine(stack.client, existing, (await spawnLeader()).pid!);
  });

  const snapshot = async () => ({ names: (await listMachineNames(stack.client)).sort(), files: readdirSync('/run/systemd/machines').sort() });

  const cases: Array<{ what: string; name?: string; id?: Buffer; class?: string; leader?: () => number; error: string; message: string | RegExp }> = [
    { what: 'an empty name', name: '', error: INVALID_ARGS, message: 'Invalid machine name' },
    { what: 'a 65-character name', name: 'a'.repeat(65), error: INVALID_ARGS, message: 'Invalid machine name' },
    { what: 'a name with /', name: 'a/b', error: INVALID_ARGS, message: 'Invalid machine name' },
    { what: 'the name ..', name: '..', error: INVALID_ARGS, message: 'Invalid machine name' },
    { what: 'a name with a space', name: 'a b', error: INVALID_ARGS, message: 'Invalid machine name' },
    { what: 'a non-ASCII name', name: 'maschine-ü', error: INVALID_ARGS, message: 'Invalid machine name' },
    { what: 'an id of 5 bytes', id: Buffer.alloc(5, 7), error: INVALID_ARGS, message: 'Invalid machine ID parameter' },
    { what: 'class banana', class: 'banana', error: INVALID_ARGS, message: 'Invalid machine class parameter' },
    { what: 'leader 1', leader: () => 1, error: INVALID_ARGS, message: 'Invalid leader PID' },
    { what: 'a leader that does not exist', leader: () => 4_000_000, error: 'org.freedesktop.DBus.Error.UnixProcessIdUnknown', message: 'Leader PID 4000000 does not exist' },
  ];

  for (const c of cases) {
    it(`refuses ${c.what} and changes nothing`, async () => {
      const before = await snapshot();
      const name = c.name ?? testMachineName('bad');
      const call = callManager(stack.client, 'CreateMachine', [name, c.id ?? Buffer.alloc(16, 1), 'e2e', c.class ?? 'container', c.leader ? c.leader() : leaderPid, '', []]);
      const err = await errorOf(call);
      expect(err.name).to.equal(c.error);
      if (typeof c.message === 'string') expect(err.message).to.equal(c.message);
      else expect(err.message).to.match(c.message);
      expect(await snapshot()).to.deep.equal(before);
    });
  }

  it('refuses a duplicate name with MachineExists', async () => {
    const before = await snapshot();
    const err = await errorOf(createMachine(stack.client, existing, leaderPid));
    expect(err).to.deep.equal({ name: 'org.freedesktop.machine1.MachineExists', message: `Machine '${existing}' already exists` });
    expect(await snapshot()).to.deep.equal(before);
  });

  it('refuses a leader that already leads a machine', async () => {
    const [path] = await callManager(stack.client, 'GetMachine', [existing]);
    const [leader] = await stack.client.call('org.freedesktop.machine1', path as string, 'org.freedesktop.DBus.Properties', 'Get', 'ss', ['org.freedesktop.machine1.Machine', 'Leader']);
    const before = await snapshot();
    const err = await errorOf(createMachine(stack.client, testMachineName('steal'), leader.value));
    expect(err.name).to.equal('org.freedesktop.machine1.MachineExists');
    expect(err.message).to.contain(`already belongs to machine '${existing}'`);
    expect(await snapshot()).to.deep.equal(before);
  });

  it('answers a call with the wrong signature with InvalidArgs naming the expected one (real busctl)', async () => {
    const r = await run('busctl', ['--address', stack.bus.address, 'call', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'CreateMachine', 'sayssus', 'x', '0', 'svc', 'container', String(leaderPid), '']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain("Invalid arguments 'sayssus' to call org.freedesktop.machine1.Manager.CreateMachine(), expecting 'sayssusa(sv)'.");
  });

  it('answers unknown machines, PIDs, kill targets and signals with upstream errors', async () => {
    expect(await errorOf(callManager(stack.client, 'GetMachine', ['nope']))).to.deep.equal({ name: 'org.freedesktop.machine1.NoSuchMachine', message: "No machine 'nope' known" });
    expect((await errorOf(callManager(stack.client, 'GetMachineByPID', [leaderPid]))).name).to.equal('org.freedesktop.machine1.NoMachineForPID');
    expect(await errorOf(callManager(stack.client, 'KillMachine', [existing, 'everyone', 15]))).to.deep.equal({ name: INVALID_ARGS, message: "Invalid kill parameter 'everyone'" });
    expect(await errorOf(callManager(stack.client, 'KillMachine', [existing, 'all', 0]))).to.deep.equal({ name: INVALID_ARGS, message: 'Invalid signal 0' });
    expect((await errorOf(callManager(stack.client, 'TerminateMachine', ['.host']))).name).to.equal('org.freedesktop.DBus.Error.NotSupported');
  });

  it('refuses copy and bind for a machine that shares the host\'s mounts: NotSupported in one line, never a stack trace', async () => {
    // The leader here is a plain host process: copying "into" it would write the host's files.
    const copy = await errorOf(callManager(stack.client, 'CopyToMachine', [existing, '/etc/hostname', '/tmp/x']));
    expect(copy).to.deep.equal({
      name: 'org.freedesktop.DBus.Error.NotSupported',
      message: `Machine ${existing} shares the host's root directory and mounts; refusing to copy files into or out of it.`,
    });
    const bind = await errorOf(callManager(stack.client, 'BindMountMachine', [existing, '/srv', '/srv', false, false]));
    expect(bind.name).to.equal('org.freedesktop.DBus.Error.NotSupported');
    expect(bind.message).not.to.match(/\bat \w+ \(|Error:|\n/);
  });

  it('is still serving, with the same machines, after all of that', async () => {
    expect(await listMachineNames(stack.client)).to.include.members(['.host', existing]);
    expect(stack.machined.logs().join('\n')).not.to.match(/\n\s+at /);
  });
});
