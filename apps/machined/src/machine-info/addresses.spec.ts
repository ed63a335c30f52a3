import { expect } from 'chai';
import { AF_INET, AF_INET6, addressesFromIpJson, ipv6Bytes } from './addresses.js';

describe('machine addresses', () => {
  it('expands IPv6 addresses to 16 bytes', () => {
    expect(ipv6Bytes('fe80::1').toString('hex')).to.equal('fe800000000000000000000000000001');
    expect(ipv6Bytes('2001:db8::8:800:200c:417a').toString('hex')).to.equal('20010db80000000000080800200c417a');
    expect(ipv6Bytes('::').toString('hex')).to.equal('0'.repeat(32));
    expect(ipv6Bytes('::ffff:10.0.0.1').toString('hex')).to.equal('00000000000000000000ffff0a000001');
    expect(ipv6Bytes('1:2:3:4:5:6:7:8').toString('hex')).to.equal('00010002000300040005000600070008');
  });

  it('orders global, then site, then link-local, and leaves out loopback and host scope', () => {
    const json = JSON.stringify([
      { ifname: 'lo', flags: ['LOOPBACK', 'UP'], addr_info: [{ family: 'inet', local: '127.0.0.1', scope: 'host' }] },
      {
        ifname: 'host0',
        flags: ['UP'],
        addr_info: [
          { family: 'inet6', local: 'fe80::1', scope: 'link' },
          { family: 'inet', local: '169.254.1.2', scope: 'link' },
          { family: 'inet', local: '10.0.0.2', scope: 'global' },
          { family: 'inet6', local: 'fec0::2', scope: 'site' },
          { family: 'inet6', local: '2001:db8::2', scope: 'global' },
          { family: 'inet', local: '10.0.0.3', scope: 'host' },
        ],
      },
    ]);
    const got = addressesFromIpJson(json).map(([f, b]) => `${f}:${b.toString('hex')}`);
    expect(got).to.deep.equal([
      `${AF_INET}:0a000002`,
      `${AF_INET6}:20010db8000000000000000000000002`,
      `${AF_INET6}:fec00000000000000000000000000002`,
      `${AF_INET6}:fe800000000000000000000000000001`,
      `${AF_INET}:a9fe0102`,
    ]);
  });
});
