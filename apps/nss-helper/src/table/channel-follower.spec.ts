import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { channelEndpoint, createLogger, encodeChannelMessage, parseChannelMessage, type MachineRecord } from '@machined/protocol';
import { ChannelFollower } from './channel-follower.js';
import { MachineTable } from './machine-table.js';

const rec = (name: string): MachineRecord => ({
  name,
  class: 'container',
  service: 'test',
  unit: `machine-${name}.scope`,
  leader: 1,
  rootDirectory: '',
  id: '',
  networkInterfaces: [],
  timestamp: '1',
  state: 'running',
});

/** A stand-in for machined's end of the channel: a PUB and a REP socket, and its numbering. */
class FakeMachined {
  private readonly pub = new zmq.Publisher({ linger: 0 });
  private readonly rep = new zmq.Reply({ linger: 0 });
  private serving: Promise<void> | null = null;
  seq = 0;
  machines: MachineRecord[] = [];
  snapshots = 0;

  constructor(private readonly dir: string) {}

  async start(): Promise<void> {
    await this.pub.bind(channelEndpoint(this.dir, 'events'));
    await this.rep.bind(channelEndpoint(this.dir, 'snapshot'));
    this.serving = (async () => {
      for await (const [frame] of this.rep) {
        parseChannelMessage(frame!);
        this.snapshots++;
        await this.rep.send(encodeChannelMessage({ v: 1, type: 'snapshot', seq: this.seq, machines: this.machines }));
      }
    })().catch(() => {});
  }

  async add(m: MachineRecord, announce = true): Promise<void> {
    this.machines.push(m);
    const seq = ++this.seq;
    if (announce) await this.pub.send(['machine.new', encodeChannelMessage({ v: 1, type: 'machine.new', seq, machine: m })]);
  }

  async stop(): Promise<void> {
    this.pub.close();
    this.rep.close();
    await this.serving;
  }
}

const until = async (what: string, fn: () => boolean) => {
  for (let i = 0; i < 500 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(fn(), what).to.equal(true);
};

describe('ChannelFollower (against a stand-in machined over ZeroMQ)', function () {
  this.timeout(20000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'nss-follower-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const names = (t: MachineTable) => t.list().map((m) => m.name).sort();

  it('takes the snapshot, then follows the events', async () => {
    const m = new FakeMachined(dir);
    await m.start();
    await m.add(rec('before'));
    const table = new MachineTable();
    const f = new ChannelFollower(dir, table, createLogger('error'), { joinDelayMs: 50 });
    await f.start();
    expect(names(table)).to.deep.equal(['before']);
    await until('the subscription to take (slow joiner) and a re-sync', () => m.snapshots >= 2);
    await m.add(rec('after'));
    await until('the event', () => names(table).includes('after'));
    await f.close();
    await m.stop();
  });

  it('re-syncs when a number is missing (a lost event)', async () => {
    const m = new FakeMachined(dir);
    await m.start();
    const table = new MachineTable();
    const f = new ChannelFollower(dir, table, createLogger('error'), { joinDelayMs: 50 });
    await f.start();
    await until('the join re-sync', () => m.snapshots >= 2);
    await m.add(rec('lost'), false);
    await m.add(rec('seen'));
    await until('both, through a new snapshot', () => names(table).join() === 'lost,seen');
    await f.close();
    await m.stop();
  });

  it('re-syncs after machined restarts and counts from the start again', async () => {
    let m = new FakeMachined(dir);
    await m.start();
    for (const n of ['a', 'b', 'c']) await m.add(rec(n));
    const table = new MachineTable();
    const f = new ChannelFollower(dir, table, createLogger('error'), { joinDelayMs: 50, retryMs: 50, requestTimeoutMs: 500 });
    await f.start();
    expect(names(table)).to.deep.equal(['a', 'b', 'c']);
    await m.stop();
    // The new machined restored a and c (b went while it was down) and announces nothing.
    m = new FakeMachined(dir);
    m.machines = [rec('a'), rec('c')];
    await m.start();
    await until('the table after the restart', () => names(table).join() === 'a,c');
    await until('the subscription to the new machined', () => m.snapshots >= 1);
    await new Promise((r) => setTimeout(r, 200));
    await m.add(rec('d'));
    await until('an event numbered 1 from the new machined', () => names(table).includes('d'));
    await f.close();
    await m.stop();
  });
});
