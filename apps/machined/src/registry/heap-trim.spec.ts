import { expect } from 'chai';
import { HeapTrim } from './heap-trim.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HeapTrim', () => {
  it('collects once, after enough removals and a quiet period, never for a few', async () => {
    let collections = 0;
    const trim = new HeapTrim({ minRemovals: 3, quietMs: 20, collect: () => collections++ });
    try {
      trim.removed();
      trim.removed();
      await sleep(60);
      expect(collections).to.equal(0);
      trim.removed();
      await sleep(60);
      expect(collections).to.equal(1);
      // The count starts over after a collection.
      trim.removed();
      await sleep(60);
      expect(collections).to.equal(1);
    } finally {
      trim.close();
    }
  });

  it('waits for the burst to end: each addition or removal restarts the quiet period', async () => {
    let collections = 0;
    const trim = new HeapTrim({ minRemovals: 1, quietMs: 80, collect: () => collections++ });
    try {
      trim.removed();
      for (let i = 0; i < 4; i++) {
        await sleep(30);
        if (i % 2 === 0) trim.added();
        else trim.removed();
      }
      expect(collections).to.equal(0);
      await sleep(200);
      expect(collections).to.equal(1);
    } finally {
      trim.close();
    }
  });

  it('close() cancels a pending collection', async () => {
    let collections = 0;
    const trim = new HeapTrim({ minRemovals: 1, quietMs: 20, collect: () => collections++ });
    trim.removed();
    trim.close();
    await sleep(60);
    expect(collections).to.equal(0);
  });

  it('runs V8\'s full collection by default without throwing', async () => {
    const trim = new HeapTrim({ minRemovals: 1, quietMs: 1 });
    try {
      trim.removed();
      await sleep(30);
    } finally {
      trim.close();
    }
  });
});
