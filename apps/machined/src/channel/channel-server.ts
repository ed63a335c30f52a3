/**
 * machined's end of the internal channel: a PUB socket carrying machine events and a REP socket
 * answering snapshot requests. Each event has a sequence number and a snapshot carries the number
 * of the last event it includes, so a subscriber that starts late (or after a restart of ours)
 * takes the snapshot and drops older events instead of missing or doubling any.
 */
import { promises as fs } from 'node:fs';
import * as zmq from 'zeromq';
import {
  channelEndpoint,
  encodeChannelMessage,
  parseChannelMessage,
  type ChannelMessage,
  type MachineRecord,
  type Logger,
} from '@machined/protocol';

export class ChannelServer {
  private readonly pub = new zmq.Publisher();
  private readonly rep = new zmq.Reply();
  private seq = 0;
  private closed = false;
  private serving: Promise<void> | null = null;
  /** zeromq allows one send at a time per socket; events queue up here in order. */
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly runtimeDir: string,
    private readonly snapshot: () => MachineRecord[],
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // Only root (and the project's own root daemons) may listen to machine events.
    await fs.mkdir(this.runtimeDir, { recursive: true, mode: 0o700 });
    await fs.chmod(this.runtimeDir, 0o700);
    this.pub.linger = 0;
    this.rep.linger = 0;
    await this.pub.bind(channelEndpoint(this.runtimeDir, 'events'));
    await this.rep.bind(channelEndpoint(this.runtimeDir, 'snapshot'));
    this.serving = this.serveSnapshots();
  }

  publish(event: { type: 'machine.new' | 'machine.changed'; machine: MachineRecord } | { type: 'machine.removed'; name: string }): void {
    if (this.closed) return;
    const msg = { v: 1, seq: ++this.seq, ...event } as ChannelMessage;
    const frames = [msg.type, encodeChannelMessage(msg)];
    this.sending = this.sending
      .then(() => (this.closed ? undefined : this.pub.send(frames)))
      .catch((e: Error) => this.log.warning(`Failed to publish ${msg.type}: ${e.message}`));
  }

  private async serveSnapshots(): Promise<void> {
    try {
      for await (const [frame] of this.rep) {
        let answer: ChannelMessage | { v: 1; type: 'error'; message: string };
        try {
          const req = parseChannelMessage(frame!);
          if (req.type !== 'snapshot.request') throw new Error(`unexpected ${req.type}`);
          answer = { v: 1, type: 'snapshot', seq: this.seq, machines: this.snapshot() };
          await this.rep.send(encodeChannelMessage(answer));
        } catch (e) {
          // REP must answer every request or the socket wedges; a bad request gets an error frame.
          answer = { v: 1, type: 'error', message: (e as Error).message };
          await this.rep.send(JSON.stringify(answer));
        }
      }
    } catch (e) {
      if (!this.closed) this.log.warning(`Snapshot socket failed: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.sending;
    this.closed = true;
    this.pub.close();
    this.rep.close();
    await this.serving?.catch(() => {});
  }
}
