import { expect } from 'chai';
import { addressToString } from './addresses.js';
import { renderUnitProcesses } from './cgroup-tree.js';

describe('addresses (inet_ntop)', () => {
  it('prints IPv4 and compressed IPv6 like glibc', () => {
    expect(addressToString(2, Buffer.from([10, 0, 0, 2]))).to.equal('10.0.0.2');
    expect(addressToString(10, Buffer.from('fe800000000000000000000000000001', 'hex'))).to.equal('fe80::1');
    expect(addressToString(10, Buffer.from('00000000000000000000000000000001', 'hex'))).to.equal('::1');
    expect(addressToString(10, Buffer.from('00000000000000000000ffff0a000002', 'hex'))).to.equal('::ffff:10.0.0.2');
    expect(addressToString(10, Buffer.from('20010db8000000010000000000000001', 'hex'))).to.equal('2001:db8:0:1::1');
    expect(addressToString(10, Buffer.from('20010db8000000000001000000000001', 'hex'))).to.equal('2001:db8::1:0:0:1');
  });
});

describe('process tree (unit_show_processes)', () => {
  it('lists the unit\'s processes by PID, then sub-cgroups by name, then strays', () => {
    const out = renderUnitProcesses(
      [
        { cgroup: '/machine.slice/machine-foo.scope', pid: 900, command: 'sleep 3600' },
        { cgroup: '/machine.slice/machine-foo.scope/payload', pid: 1001, command: '/bin/sh' },
        { cgroup: '/machine.slice/machine-foo.scope', pid: 15, command: 'init' },
        { cgroup: '/other', pid: 7, command: 'stray' },
      ],
      '/machine.slice/machine-foo.scope',
      '\t\t  ',
      0,
      true,
    );
    expect(out).to.equal('\t\t  ├─ 15 init\n\t\t  ├─900 sleep 3600\n\t\t  └─payload\n\t\t    └─1001 /bin/sh\n\t\t  ‣ 7 stray\n');
  });
});
