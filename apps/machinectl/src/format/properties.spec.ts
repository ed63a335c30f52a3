import { expect } from 'chai';
import { printProperties, type PropertyValue } from './properties.js';

const props: Record<string, PropertyValue> = {
  Name: { signature: 's', value: 'foo' },
  Id: { signature: 'ay', value: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex') },
  Timestamp: { signature: 't', value: 1_700_000_000_000_000n },
  TimestampMonotonic: { signature: 't', value: 0n },
  Service: { signature: 's', value: '' },
  Leader: { signature: 'u', value: 15065 },
  NetworkInterfaces: { signature: 'ai', value: [] },
  ReadOnly: { signature: 'b', value: false },
  Limit: { signature: 't', value: 0xffff_ffff_ffff_ffffn },
  PoolLimit: { signature: 't', value: 0xffff_ffff_ffff_ffffn },
};
const plain = { filter: [], showEmpty: false, valueOnly: false };

describe('show properties (bus_print_all_properties)', () => {
  let savedTz: string | undefined;
  before(() => {
    savedTz = process.env.TZ;
    process.env.TZ = 'UTC';
  });
  after(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  it('prints Key=Value in the server\'s order, hides empty values, formats timestamps and Limit*', () => {
    expect(printProperties(props, plain)).to.equal(
      'Name=foo\nId=0102030405060708090a0b0c0d0e0f10\nTimestamp=Tue 2023-11-14 22:13:20 UTC\nTimestampMonotonic=0\n' +
        'Leader=15065\nReadOnly=no\nLimit=infinity\nPoolLimit=18446744073709551615\n',
    );
  });

  it('-a shows empty values and marks what it cannot print', () => {
    const out = printProperties(props, { ...plain, showEmpty: true });
    expect(out).to.contain('Service=\n');
    expect(out).to.contain('NetworkInterfaces=[unprintable]\n');
  });

  it('-p filters, --value prints only values (but still names an unprintable one)', () => {
    expect(printProperties(props, { filter: ['Leader', 'Name'], showEmpty: true, valueOnly: false })).to.equal('Name=foo\nLeader=15065\n');
    expect(printProperties(props, { filter: ['Name'], showEmpty: true, valueOnly: true })).to.equal('foo\n');
    expect(printProperties(props, { filter: ['NetworkInterfaces'], showEmpty: true, valueOnly: true })).to.equal('NetworkInterfaces=[unprintable]\n');
    expect(printProperties({ S: { signature: 's', value: 'a\nb' } }, plain)).to.equal('S=[unprintable]\n');
  });
});
