import { expect } from 'chai';
import { idFromHost, idToHost, parseIdMap } from './id-map.js';

describe('user namespace maps', () => {
  it('parses the kernel format', () => {
    expect(parseIdMap('         0     200000      65536\n')).to.deep.equal([{ inner: 0, outer: 200000, count: 65536 }]);
    expect(parseIdMap('')).to.deep.equal([]);
    expect(parseIdMap('0 1 2\n5 6 7\n')).to.have.length(2);
    expect(parseIdMap('0 1\n')).to.equal(null);
    expect(parseIdMap('0 x 1\n')).to.equal(null);
    expect(parseIdMap('0 99999999999 1\n')).to.equal(null);
  });

  it('translates both ways within the ranges', () => {
    const map = parseIdMap('0 200000 65536\n100000 400000 10\n')!;
    expect(idToHost(map, 0)).to.equal(200000);
    expect(idToHost(map, 65535)).to.equal(265535);
    expect(idToHost(map, 65536)).to.equal(null);
    expect(idToHost(map, 100009)).to.equal(400009);
    expect(idFromHost(map, 200007)).to.equal(7);
    expect(idFromHost(map, 265536)).to.equal(null);
    expect(idFromHost(map, 400000)).to.equal(100000);
    expect(idFromHost(map, 199999)).to.equal(null);
  });

  it('gives nothing to the host namespace (outer base 0)', () => {
    const identity = parseIdMap('0 0 4294967295\n')!;
    expect(idToHost(identity, 0)).to.equal(null);
    expect(idFromHost(identity, 100000)).to.equal(null);
  });
});
