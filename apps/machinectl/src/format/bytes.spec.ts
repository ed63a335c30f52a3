import { expect } from 'chai';
import { formatBytes } from './bytes.js';
import { parseSize, parseBoolean, parseUnsigned } from '../cli/parse-values.js';

describe('sizes (format_bytes, parse_size)', () => {
  it('formats with IEC units and one decimal, like format_bytes()', () => {
    expect(formatBytes(0n)).to.equal('0B');
    expect(formatBytes(1023n)).to.equal('1023B');
    expect(formatBytes(1024n)).to.equal('1.0K');
    expect(formatBytes(1153434n)).to.equal('1.0M');
    expect(formatBytes(1234567n)).to.equal('1.1M');
    expect(formatBytes(10n * 1024n ** 3n)).to.equal('10.0G');
    expect(formatBytes(0xffff_ffff_ffff_ffffn)).to.equal(undefined);
  });

  it('parses sizes with base-1024 suffixes and fractions', () => {
    expect(parseSize('10G')).to.equal(10737418240n);
    expect(parseSize('1.5K')).to.equal(1536n);
    expect(parseSize('512')).to.equal(512n);
    expect(parseSize('1G 512M')).to.equal(1610612736n);
    expect(parseSize('10X')).to.equal(undefined);
    expect(parseSize('-1')).to.equal(undefined);
    expect(parseSize('')).to.equal(undefined);
  });

  it('parses booleans and unsigned numbers like systemd', () => {
    expect(parseBoolean('yes')).to.equal(true);
    expect(parseBoolean('OFF')).to.equal(false);
    expect(parseBoolean('maybe')).to.equal(undefined);
    expect(parseUnsigned('10')).to.equal(10);
    expect(parseUnsigned('x')).to.equal(undefined);
    expect(parseUnsigned('-1')).to.equal(undefined);
  });
});
