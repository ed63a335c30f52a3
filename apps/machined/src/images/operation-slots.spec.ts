import { expect } from 'chai';
import { ErrorNames } from '@machined/protocol';
import { OPERATIONS_MAX, OperationSlots } from './operation-slots.js';

describe('OperationSlots', () => {
  it('runs up to 64 operations at once, refuses the 65th with LimitsExceeded, and frees slots as they end', async () => {
    const slots = new OperationSlots();
    const releases: Array<() => void> = [];
    const running = Array.from({ length: OPERATIONS_MAX }, () =>
      slots.run(() => new Promise<void>((resolve) => releases.push(resolve))),
    );
    expect(slots.active).to.equal(64);
    let refused: unknown;
    try {
      await slots.run(async () => 'too many');
    } catch (e) {
      refused = e;
    }
    expect(refused).to.include({ errorName: ErrorNames.LimitsExceeded, message: 'Too many ongoing operations.' });
    releases.shift()!();
    await running[0];
    expect(await slots.run(async () => 'fits again')).to.equal('fits again');
    releases.forEach((r) => r());
    await Promise.all(running);
    expect(slots.active).to.equal(0);
  });

  it('frees the slot of an operation that fails', async () => {
    const slots = new OperationSlots(1);
    await slots.run(() => Promise.reject(new Error('boom'))).catch(() => {});
    expect(await slots.run(async () => 1)).to.equal(1);
  });
});
