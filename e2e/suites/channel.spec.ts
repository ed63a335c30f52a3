/**
 * The internal channel as a subscriber (nss-helper, later) sees it: a snapshot on request over the
 * REP socket, then machine events on the PUB socket with sequence numbers that continue the
 * snapshot's; every message passes libs/protocol's validation. The sockets live in a root-only
 * directory.
 */
import { expect } from 'chai';
import { statSync } from 'node:fs';
import * as zmq from 'zeromq';
import { channelEndpoint, encodeChannelMessage, parseChannelMessage, type ChannelMessage } from '@machined/protocol';
import { testMachineName, useStack, createMachine, spawnLeader, waitUntil } from '../support/index.js';

describe('internal channel (ZeroMQ)', function () {
  const stack = useStack();
  const sub = new zmq.Subscriber();
  const events: ChannelMessage[] = [];
  let reading: Promise<void>;

  before(async () => {
    sub.connect(channelEndpoint(stack.machined.runtimeDir, 'events'));
    sub.subscribe('machine.');
    reading = (async () => {
      for await (const [, payload] of sub) events.push(parseChannelMessage(payload!));
    })().catch(() => {});
  });
  after(async () => {
    sub.close();
    await reading;
  });

  async function snapshot(): Promise<Extract<ChannelMessage, { type: 'snapshot' }>> {
    const req = new zmq.Request({ receiveTimeout: 5000, sendTimeout: 5000, linger: 0 });
    req.connect(channelEndpoint(stack.machined.runtimeDir, 'snapshot'));
    try {
      await req.send(encodeChannelMessage({ v: 1, type: 'snapshot.request' }));
      const [reply] = await req.receive();
      const msg = parseChannelMessage(reply!);
      if (msg.type !== 'snapshot') throw new Error(`expected a snapshot, got ${msg.type}`);
      return msg;
    } finally {
      req.close();
    }
  }

  it('keeps its sockets in a directory only root can enter', () => {
    expect(statSync(stack.machined.runtimeDir).mode & 0o777).to.equal(0o700);
  });

  it('answers a snapshot request with every machine, .host included', async () => {
    const snap = await snapshot();
    expect(snap.machines.map((m) => m.name)).to.include('.host');
  });

  it('publishes machine.new and machine.removed after the snapshot, in sequence', async () => {
    const before = await snapshot();
    // The subscriber needs a moment after connect before publications reach it (slow joiner).
    await new Promise((r) => setTimeout(r, 300));
    const leader = await spawnLeader();
    const name = testMachineName('chan');
    await createMachine(stack.client, name, leader.pid!, { service: 'chan-svc' });
    const isNew = (e: ChannelMessage): e is Extract<ChannelMessage, { type: 'machine.new' }> => e.type === 'machine.new' && e.machine.name === name;
    const isRemoved = (e: ChannelMessage): e is Extract<ChannelMessage, { type: 'machine.removed' }> => e.type === 'machine.removed' && e.name === name;
    const added = await waitUntil(() => events.find(isNew), 'machine.new');
    expect(added.machine).to.deep.include({ name, class: 'container', service: 'chan-svc', leader: leader.pid, state: 'running' });
    expect(added.seq).to.be.greaterThan(before.seq);
    const after = await snapshot();
    expect(after.machines.map((m) => m.name)).to.include(name);

    leader.kill('SIGKILL');
    const removed = await waitUntil(() => events.find(isRemoved), 'machine.removed');
    expect(removed.seq).to.be.greaterThan(added.seq);
  });

  it('delivers every event when machines come and go concurrently, in increasing sequence', async () => {
    const leaders = await Promise.all(Array.from({ length: 16 }, () => spawnLeader()));
    const names = leaders.map(() => testMachineName('burst'));
    await Promise.all(names.map((n, i) => createMachine(stack.client, n, leaders[i]!.pid!)));
    leaders.forEach((l) => l.kill('SIGKILL'));
    const ofBurst = () => events.filter((e) => (e.type === 'machine.new' ? names.includes(e.machine.name) : e.type === 'machine.removed' && names.includes(e.name)));
    await waitUntil(() => ofBurst().length === 32, 'a machine.new and a machine.removed for each of 16 machines');
    const seqs = ofBurst().map((e) => (e.type === 'machine.new' || e.type === 'machine.removed' ? e.seq : 0));
    expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
    expect(stack.machined.logs().join('\n')).not.to.contain('Failed to publish');
  });

  it('answers a malformed request with an error frame and keeps serving', async () => {
    const req = new zmq.Request({ receiveTimeout: 5000, linger: 0 });
    req.connect(channelEndpoint(stack.machined.runtimeDir, 'snapshot'));
    await req.send('this is not json');
    const [reply] = await req.receive();
    req.close();
    expect(JSON.parse(reply!.toString())).to.include({ type: 'error' });
    expect((await snapshot()).machines.length).to.be.greaterThan(0);
  });
});
