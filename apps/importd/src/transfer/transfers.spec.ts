import { expect } from 'chai';
import { BusError, PROGRESS_UNKNOWN, TRANSFERS_MAX } from '@machined/protocol';
import { TransferError } from './transfer.js';
import { Transfers } from './transfers.js';

const info = (local: string, type: 'pull-tar' | 'import-tar' | 'export-tar' = 'import-tar', remote = '') => ({ type, local, remote, verify: 'no' });
const never = () => new Promise<void>(() => {});

function removedOnce(transfers: Transfers, id: number): Promise<string> {
  return new Promise((resolve) => transfers.on('removed', (t, result) => t.id === id && resolve(result)));
}

describe('transfers', () => {
  it('numbers transfers from 1 and reports each end exactly once, with its log', async () => {
    const transfers = new Transfers();
    const removed: [number, string][] = [];
    transfers.on('removed', (t, r) => removed.push([t.id, r]));
    const lines: string[] = [];
    const a = transfers.start(info('a'), async (t) => t.log(6, 'working'));
    a.on('log', (_p, l) => lines.push(l));
    const b = transfers.start(info('b'), async () => {
      throw new TransferError('Image \'b\' already exists.');
    });
    expect([a.id, b.id]).to.deep.equal([1, 2]);
    expect(a.progress).to.equal(PROGRESS_UNKNOWN);
    await Promise.all([removedOnce(transfers, 1), removedOnce(transfers, 2)]);
    await new Promise((r) => setImmediate(r));
    expect(removed).to.deep.equal([[1, 'done'], [2, 'failed']]);
    expect(lines).to.deep.equal(['working', 'Operation completed successfully.', 'Exiting.']);
    expect(transfers.size).to.equal(0);
  });

  it('cancels: the work sees the abort, the result is canceled', async () => {
    const transfers = new Transfers();
    const t = transfers.start(info('c'), (_t, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
    const result = removedOnce(transfers, t.id);
    await new Promise((r) => setImmediate(r));
    t.cancel();
    t.cancel();
    expect(await result).to.equal('canceled');
  });

  it('refuses a second writer of a local name and a second pull of a URL, but not two exports', () => {
    const transfers = new Transfers();
    transfers.start(info('x'), never);
    transfers.start(info('p', 'pull-tar', 'http://h/i.tar'), never);
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return [(e as BusError).errorName, (e as BusError).message];
      }
      return null;
    };
    expect(err(() => transfers.start(info('x'), never))).to.deep.equal(['org.freedesktop.import1.TransferInProgress', 'Transfer for x already in progress.']);
    expect(err(() => transfers.start(info('q', 'pull-tar', 'http://h/i.tar'), never))).to.deep.equal([
      'org.freedesktop.import1.TransferInProgress',
      'Transfer for http://h/i.tar already in progress.',
    ]);
    transfers.start(info('e', 'export-tar'), never);
    expect(err(() => transfers.start(info('e', 'export-tar'), never))).to.equal(null);
  });

  it(`runs at most ${TRANSFERS_MAX} at once`, () => {
    const transfers = new Transfers();
    for (let i = 0; i < TRANSFERS_MAX; i++) transfers.start(info(`n${i}`), never);
    expect(() => transfers.start(info('one-too-many'), never)).to.throw(BusError, /Too many transfers/);
  });
});
