import { expect } from 'chai';
import { addressesFromIpJson } from './ip-address-json.js';

const link = (flags: string[], addrs: Array<[string, string, string]>) => ({
  ifname: 'x',
  flags,
  addr_info: addrs.map(([family, local, scope]) => ({ family, local, scope, prefixlen: 24 })),
});

describe('addressesFromIpJson', () => {
  it('orders global, then site, then link-local, keeping the kernel order within a scope (systemd#20724)', () => {
    const json = JSON.stringify([
      link(['BROADCAST', 'UP'], [
        ['inet', '169.254.1.2', 'link'],
        ['inet6', 'fe80::2', 'link'],
        ['inet6', 'fec0::2', 'site'],
        ['inet', '10.0.0.2', 'global'],
        ['inet6', 'fd00::2', 'global'],
      ]),
    ]);
    expect(addressesFromIpJson(json)).to.deep.equal([
      { family: 4, address: '10.0.0.2' },
      { family: 6, address: 'fd00::2' },
      { family: 6, address: 'fec0::2' },
      { family: 4, address: '169.254.1.2' },
      { family: 6, address: 'fe80::2' },
    ]);
  });

  it('leaves out loopback interfaces and host-scope addresses', () => {
    const json = JSON.stringify([
      link(['LOOPBACK', 'UP'], [['inet', '127.0.0.1', 'host'], ['inet6', '::1', 'host']]),
      link(['UP'], [['inet', '10.1.1.1', 'host'], ['inet', '10.0.0.3', 'global']]),
    ]);
    expect(addressesFromIpJson(json)).to.deep.equal([{ family: 4, address: '10.0.0.3' }]);
  });

  it('gives nothing for a namespace without addresses, and refuses what is not ip -json output', () => {
    expect(addressesFromIpJson('[]')).to.deep.equal([]);
    expect(() => addressesFromIpJson('Error: nope')).to.throw(/not JSON/);
    expect(() => addressesFromIpJson('{}')).to.throw(/not print a list/);
  });
});
