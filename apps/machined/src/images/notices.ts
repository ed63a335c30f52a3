/**
 * The PULL end of the internal channel where importd (or anything of ours) says the pool changed.
 * Every valid `pool.changed` notice triggers a rescan; anything else is logged and dropped.
 */
import * as zmq from 'zeromq';
import { channelEndpoint, parseChannelMessage, type Logger } from '@machined/protocol';

export class PoolNotices {
  private readonly pull = new zmq.Pull();
  private receiving: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly runtimeDir: string,
    private readonly onChanged: (image: string | undefined) => void,
    private readonly log: Logger,
  ) {}

  /** The runtime directory must exist (ChannelServer.start creates it root-only). */
  async start(): Promise<void> {
    this.pull.linger = 0;
    await this.pull.bind(channelEndpoint(this.runtimeDir, 'notices'));
    this.receiving = this.receive();
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.pull) {
        const data = frames[frames.length - 1]!;
        try {
          const msg = parseChannelMessage(data);
          if (msg.type !== 'pool.changed') throw new Error(`unexpected ${msg.type} on the notices socket`);
          this.log.debug(`pool.changed notice${msg.image ? ` for ${msg.image}` : ''}`);
          this.onChanged(msg.image);
        } catch (e) {
          this.log.warning(`Dropped a notice: ${(e as Error).message}`);
        }
      }
    } catch (e) {
      if (!this.closed) this.log.warning(`Notices socket failed: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pull.close();
    await this.receiving?.catch(() => {});
  }
}
