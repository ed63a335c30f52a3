import { expect } from 'chai';
// @ts-expect-error untyped internal module of dbus-next
import { Message } from 'dbus-next/lib/message-type.js';
// @ts-expect-error untyped internal module of dbus-next
import { marshallMessage } from 'dbus-next/lib/marshall-compat.js';
import { marshalMethodCall, type CallMessage } from './wire.js';

const base = { serial: 7, flags: 4, destination: 'org.freedesktop.machine1', path: '/org/freedesktop/machine1', interface: 'org.freedesktop.machine1.Manager' };

function dbusNext(m: CallMessage): Buffer {
  return (marshallMessage(new Message({ type: 1, ...m })) as [Buffer])[0];
}

describe('method-call marshalling fast path', () => {
  const cases: CallMessage[] = [
    { ...base, member: 'ListMachines', signature: '', body: [] },
    { ...base, member: 'GetMachineOSRelease', signature: 's', body: ['foo'] },
    { ...base, member: 'KillMachine', signature: 'ssi', body: ['a-much-longer-machine-name', 'leader', 38] },
    { ...base, member: 'CloneImage', signature: 'ssb', body: ['ä', 'x', true] },
    { ...base, member: 'SetImageLimit', signature: 'st', body: ['foo', 0xffff_ffff_ffff_ffffn] },
    { ...base, member: 'CopyToMachineWithFlags', signature: 'ssst', body: ['foo', '/a', '/b', 1n] },
    { ...base, member: 'EnableUnitFiles', signature: 'asbb', body: [['systemd-nspawn@a.service', 'systemd-nspawn@bb.service'], false, false] },
    { ...base, member: 'EnableUnitFiles', signature: 'asbb', body: [[], false, false] },
    { ...base, member: 'CancelTransfer', signature: 'u', body: [12] },
    { ...base, interface: 'org.freedesktop.DBus.Properties', member: 'GetAll', signature: 's', body: [''] },
    { serial: 1, flags: 0, destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello', signature: '', body: [] },
  ];
  for (const m of cases) {
    it(`writes ${m.member}(${m.signature}) byte for byte as dbus-next does`, () => {
      expect(marshalMethodCall(m)!.toString('hex')).to.equal(dbusNext(m).toString('hex'));
    });
  }
  it('leaves other signatures to dbus-next', () => {
    expect(marshalMethodCall({ ...base, member: 'X', signature: 'a{sv}', body: [{}] })).to.equal(undefined);
  });
});
