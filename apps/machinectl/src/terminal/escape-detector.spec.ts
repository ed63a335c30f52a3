import { expect } from 'chai';
import { EscapeDetector } from './escape-detector.js';

describe('^]^]^] detection', () => {
  it('fires on three ^] within a second, in one read or several', () => {
    expect(new EscapeDetector().feed(Buffer.from([0x1d, 0x1d, 0x1d]), 0)).to.equal(true);
    const d = new EscapeDetector();
    expect(d.feed(Buffer.from('a\x1d'), 0)).to.equal(false);
    expect(d.feed(Buffer.from('\x1db'), 300)).to.equal(false);
    expect(d.feed(Buffer.from('\x1d'), 900)).to.equal(true);
  });

  it('starts over when the second has passed', () => {
    const d = new EscapeDetector();
    d.feed(Buffer.from('\x1d\x1d'), 0);
    expect(d.feed(Buffer.from('\x1d'), 1500)).to.equal(false);
    expect(d.feed(Buffer.from('\x1d\x1d'), 1600)).to.equal(true);
  });
});
