import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { channelEndpoint, createLogger, parseChannelMessage } from '@machined/protocol';
import { PoolNotices } from './pool-notices.js';

describe('pool change notices (ZeroMQ PUSH to machined)', () => {
  let dir: string;
  const quiet = createLogger('error', () => {});
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'importd-notices-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('delivers pool.changed with the image name to a PULL socket bound where machined binds it', async () => {
    const pull = new zmq.Pull({ receiveTimeout: 5000, linger: 0 });
    await pull.bind(channelEndpoint(dir, 'notices'));
    const notices = new PoolNotices(dir, quiet);
    try {
      // A PUSH that connected before the peer bound may drop the first message: wait for the link.
      let msg;
      for (let i = 0; i < 50 && !msg; i++) {
        notices.changed('bb');
        msg = await pull.receive().then(([frame]) => parseChannelMessage(frame!)).catch(() => undefined);
      }
      expect(msg).to.deep.equal({ v: 1, type: 'pool.changed', image: 'bb' });
    } finally {
      await notices.close();
      pull.close();
    }
  });

  it('neither blocks nor throws when nobody listens, and closes at once', async () => {
    const notices = new PoolNotices(dir, quiet);
    for (let i = 0; i < 10; i++) notices.changed(`img${i}`);
    await notices.close();
    notices.changed('after-close');
  });
});
