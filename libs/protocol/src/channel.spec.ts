import { expect } from 'chai';
import { ChannelMessageError, channelEndpoint, encodeChannelMessage, parseChannelMessage, type ChannelMessage, type MachineRecord } from './channel.js';

const record: MachineRecord = {
  name: 'foo',
  class: 'container',
  service: 'systemd-nspawn',
  unit: 'machine-foo.scope',
  leader: 42,
  rootDirectory: '/var/lib/machines/foo',
  id: '0123456789abcdef0123456789abcdef',
  networkInterfaces: [3],
  timestamp: '1700000000000000',
  state: 'running',
};

describe('internal channel messages', () => {
  it('round-trips every message type', () => {
    const messages: ChannelMessage[] = [
      { v: 1, type: 'machine.new', seq: 1, machine: record },
      { v: 1, type: 'machine.changed', seq: 2, machine: record },
      { v: 1, type: 'machine.removed', seq: 3, name: 'foo' },
      { v: 1, type: 'snapshot.request' },
      { v: 1, type: 'snapshot', seq: 3, machines: [record] },
      { v: 1, type: 'pool.changed', image: 'foo' },
    ];
    for (const m of messages) expect(parseChannelMessage(encodeChannelMessage(m))).to.deep.equal(m);
  });

  it('rejects malformed messages with a reason', () => {
    const bad: Array<[unknown, RegExp]> = [
      ['not json', /not JSON/],
      [{ v: 2, type: 'snapshot.request' }, /version 2/],
      [{ v: 1, type: 'machine.bogus' }, /unknown type/],
      [{ v: 1, type: 'machine.removed', seq: -1, name: 'x' }, /seq/],
      [{ v: 1, type: 'machine.new', seq: 1, machine: { ...record, leader: 'x' } }, /leader/],
      [{ v: 1, type: 'machine.new', seq: 1, machine: { ...record, class: 'banana' } }, /class/],
      [{ v: 1, type: 'machine.new', seq: 1, machine: { ...record, id: 'xyz' } }, /id/],
      [{ v: 1, type: 'snapshot', seq: 1, machines: [{}] }, /machines\[0\]/],
    ];
    for (const [input, reason] of bad) {
      const raw = typeof input === 'string' ? input : JSON.stringify(input);
      expect(() => parseChannelMessage(raw)).to.throw(ChannelMessageError, reason);
    }
  });

  it('names ipc endpoints inside the runtime directory', () => {
    expect(channelEndpoint('/run/machined', 'events')).to.equal('ipc:///run/machined/events.sock');
  });
});
