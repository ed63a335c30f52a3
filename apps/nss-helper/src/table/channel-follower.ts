/**
 * Keeps a MachineTable in step with machined over the internal channel: subscribes to the
 * `events` PUB socket, then asks the `snapshot` REP socket for the whole table, and applies the
 * events that follow. It takes a new snapshot when the table says so (a gap or a restart in the
 * sequence numbers), whenever the subscriber (re)connects (machined restarted: its numbering
 * starts again and it may have loaded machines without announcing them), and every
 * `resyncIntervalMs` as a safety net against a lost event that no later event reveals.
 *
 * While a snapshot is on its way, events are held back and replayed after it, so none is applied
 * against the wrong base. machined being down is normal (it starts later, or restarts): requests
 * are retried with a short back-off, and the table keeps its last contents meanwhile.
 */
import * as zmq from 'zeromq';
import { channelEndpoint, encodeChannelMessage, parseChannelMessage, type Logger, type MachineRecord } from '@machined/protocol';
import type { MachineEvent, MachineTable } from './machine-table.js';

export interface FollowerOptions {
  /** How long a snapshot request may take before it is retried (default 2000 ms). */
  requestTimeoutMs?: number;
  /** Pause between failed snapshot requests (default 250 ms). */
  retryMs?: number;
  /** Periodic safety re-sync (default 30 s; 0 disables). */
  resyncIntervalMs?: number;
  /**
   * Delay between the subscriber connecting and the snapshot request: a PUB socket drops what it
   * publishes before the subscription reaches it (ZeroMQ's slow joiner), so the snapshot must be
   * taken after that (default 150 ms; the gap rule catches anything missed all the same).
   */
  joinDelayMs?: number;
}

export class ChannelFollower {
  private readonly sub = new zmq.Subscriber({ linger: 0 });
  private closed = false;
  private reading: Promise<void> | null = null;
  private syncing: Promise<void> | null = null;
  private resyncWanted = false;
  private held: MachineEvent[] | null = null;
  private timer: NodeJS.Timeout | null = null;
  private joinTimer: NodeJS.Timeout | null = null;
  private readonly opts: Required<FollowerOptions>;
  private pendingRequest: zmq.Request | null = null;

  constructor(
    private readonly runtimeDir: string,
    private readonly table: MachineTable,
    private readonly log: Logger,
    options: FollowerOptions = {},
  ) {
    this.opts = { requestTimeoutMs: 2000, retryMs: 250, resyncIntervalMs: 30_000, joinDelayMs: 150, ...options };
  }

  /** Connects and starts the first sync; resolves once the first snapshot is applied. */
  start(): Promise<void> {
    this.sub.events.on('connect', () => {
      // A (re)connection: machined started or restarted. Take its table once our subscription is in.
      this.log.debug('Connected to machined\'s event socket; re-syncing.');
      if (this.joinTimer) clearTimeout(this.joinTimer);
      this.joinTimer = setTimeout(() => this.resync('machined (re)connected'), this.opts.joinDelayMs);
    });
    this.sub.events.on('disconnect', () => this.log.info('machined\'s event socket went away; answering from the last table until it is back.'));
    this.sub.connect(channelEndpoint(this.runtimeDir, 'events'));
    this.sub.subscribe('machine.');
    this.reading = this.readEvents();
    if (this.opts.resyncIntervalMs > 0) {
      this.timer = setInterval(() => this.resync(), this.opts.resyncIntervalMs);
      this.timer.unref();
    }
    return this.resync();
  }

  /** Takes a new snapshot (one at a time; a request during a sync makes one more run after it). */
  resync(why?: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (why) this.log.debug(`Re-syncing the machine table: ${why}.`);
    if (this.syncing) {
      this.resyncWanted = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.resyncWanted = false;
        await this.syncOnce();
      } while (this.resyncWanted && !this.closed);
    })().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    this.held ??= [];
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const snap = await this.requestSnapshot();
        const held = this.held ?? [];
        this.held = null;
        const before = this.table.lastSeq;
        this.table.applySnapshot(snap);
        if (before === null || attempt > 0) this.log.info(`Machine table synced with machined: ${snap.machines.length} machine(s), seq ${snap.seq}.`);
        for (const ev of held) this.apply(ev);
        return;
      } catch (e) {
        if (attempt === 0 || attempt % 40 === 0) this.log.info(`No snapshot from machined yet (${(e as Error).message}); retrying.`);
        await new Promise((r) => setTimeout(r, this.opts.retryMs));
      }
    }
  }

  private async requestSnapshot(): Promise<{ seq: number; machines: MachineRecord[] }> {
    // A Request socket whose reply never came cannot send again: one socket per request.
    const req = new zmq.Request({ receiveTimeout: this.opts.requestTimeoutMs, sendTimeout: this.opts.requestTimeoutMs, linger: 0 });
    this.pendingRequest = req;
    try {
      req.connect(channelEndpoint(this.runtimeDir, 'snapshot'));
      await req.send(encodeChannelMessage({ v: 1, type: 'snapshot.request' }));
      const [reply] = await req.receive();
      const msg = parseChannelMessage(reply!);
      if (msg.type !== 'snapshot') throw new Error(`machined answered ${msg.type} to a snapshot request`);
      return msg;
    } finally {
      this.pendingRequest = null;
      req.close();
    }
  }

  private apply(ev: MachineEvent): void {
    if (this.held) {
      this.held.push(ev);
      return;
    }
    const outcome = this.table.applyEvent(ev);
    if (outcome === 'resync') void this.resync(`event seq ${ev.seq} does not follow ${this.table.lastSeq}`);
  }

  private async readEvents(): Promise<void> {
    try {
      for await (const [, payload] of this.sub) {
        let msg;
        try {
          msg = parseChannelMessage(payload!);
        } catch (e) {
          this.log.warning(`Ignoring a message from machined: ${(e as Error).message}`);
          continue;
        }
        if (msg.type === 'machine.new' || msg.type === 'machine.changed' || msg.type === 'machine.removed') this.apply(msg);
      }
    } catch (e) {
      if (!this.closed) this.log.error(`Event socket failed: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.pendingRequest?.close();
    this.sub.close();
    await this.reading;
    await this.syncing?.catch(() => {});
  }
}
