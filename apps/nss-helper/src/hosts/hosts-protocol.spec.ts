import { expect } from 'chai';
import { MAX_ANSWER_ADDRESSES, RequestError, encodeHostsAnswer, encodeHostsError, parseHostsRequest } from './hosts-protocol.js';

describe('host look-up protocol', () => {
  it('reads requests for any family, AF_INET and AF_INET6', () => {
    expect(parseHostsRequest('HOSTS 0 box')).to.deep.equal({ family: 0, name: 'box' });
    expect(parseHostsRequest('HOSTS 2 box')).to.deep.equal({ family: 4, name: 'box' });
    expect(parseHostsRequest('HOSTS 10 Box.Example')).to.deep.equal({ family: 6, name: 'Box.Example' });
  });

  it('refuses anything else with a message saying what was expected', () => {
    for (const bad of ['', 'HOSTS', 'HOSTS 0', 'HOSTS 0 a b', 'hosts 0 a', 'HOSTS x a', `HOSTS 0 ${'a'.repeat(254)}`, 'GET / HTTP/1.0']) {
      expect(() => parseHostsRequest(bad), bad).to.throw(RequestError, /bad request/);
    }
    expect(() => parseHostsRequest('HOSTS 7 a')).to.throw(RequestError, /family 7 not supported/);
  });

  it('writes answers the NSS module reads', () => {
    expect(
      encodeHostsAnswer({ kind: 'ok', scopeid: 7, addresses: [{ family: 4, address: '10.0.0.2' }, { family: 6, address: 'fd00::2' }] }),
    ).to.equal('OK 7 2\n4 10.0.0.2\n6 fd00::2\n');
    expect(encodeHostsAnswer({ kind: 'notfound' })).to.equal('NOTFOUND\n');
    expect(encodeHostsAnswer({ kind: 'tryagain' })).to.equal('TRYAGAIN\n');
    expect(encodeHostsAnswer({ kind: 'unavail', why: 'not\nsynced' })).to.equal('UNAVAIL not synced\n');
    expect(encodeHostsError('x\ny')).to.equal('ERROR x y\n');
  });

  it('caps an answer at the number of addresses the module takes', () => {
    const addresses = Array.from({ length: 300 }, (_, i) => ({ family: 6 as const, address: `fd00::${i.toString(16)}` }));
    const lines = encodeHostsAnswer({ kind: 'ok', scopeid: 0, addresses }).trim().split('\n');
    expect(lines[0]).to.equal(`OK 0 ${MAX_ANSWER_ADDRESSES}`);
    expect(lines).to.have.length(MAX_ANSWER_ADDRESSES + 1);
  });
});
