/**
 * importd's end of the internal channel: a ZeroMQ PUSH socket connected to machined's PULL socket
 * (`notices`), carrying `pool.changed` after every change of the pool so that machined's
 * ListImages is current at once. machined may be down or not listening: a notice that cannot go
 * out at once is dropped (machined rescans the pool when it starts), never waited for, and never
 * fails a transfer.
 */
import * as zmq from 'zeromq';
import { channelEndpoint, encodeChannelMessage, type Logger } from '@machined/protocol';
import type { PoolNotifier } from '../jobs/job-context.js';

export class PoolNotices implements PoolNotifier {
  private readonly push = new zmq.Push({ sendTimeout: 0, linger: 0, sendHighWaterMark: 1000 });
  /** zeromq allows one send at a time per socket. */
  private sending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    runtimeDir: string,
    private readonly log: Logger,
  ) {
    // connect() does not need the peer to exist; libzmq reconnects in the background.
    this.push.connect(channelEndpoint(runtimeDir, 'notices'));
  }

  changed(image: string): void {
    if (this.closed) return;
    const frame = encodeChannelMessage({ v: 1, type: 'pool.changed', image });
    this.sending = this.sending
      .then(() => (this.closed ? undefined : this.push.send(frame)))
      .catch((e: Error) => this.log.debug(`pool.changed for ${image} not delivered (is machined listening?): ${e.message}`));
  }

  async close(): Promise<void> {
    await this.sending;
    this.closed = true;
    this.push.close();
  }
}
