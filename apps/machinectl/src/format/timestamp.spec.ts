import { expect } from 'chai';
import { formatTimestamp, formatTimestampRelative } from './timestamp.js';

const S = 1_000_000n;

describe('timestamps (time-util.c)', () => {
  let savedTz: string | undefined;
  before(() => {
    savedTz = process.env.TZ;
    process.env.TZ = 'UTC';
  });
  after(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  it('formats as "%a %Y-%m-%d %H:%M:%S %Z" and leaves unset times unformatted', () => {
    expect(formatTimestamp(1_700_000_000n * S)).to.equal('Tue 2023-11-14 22:13:20 UTC');
    expect(formatTimestamp(0n)).to.equal(undefined);
    expect(formatTimestamp(0xffff_ffff_ffff_ffffn)).to.equal(undefined);
  });

  it('says how long ago with upstream\'s units and thresholds', () => {
    const now = 1_800_000_000n * S;
    const ago = (d: bigint) => formatTimestampRelative(now - d, now);
    expect(ago(14_000n)).to.equal('14ms ago');
    expect(ago(500n)).to.equal('500us ago');
    expect(ago(59n * S)).to.equal('59s ago');
    expect(ago(61n * S)).to.equal('1min 1s ago');
    expect(ago(5n * 60n * S)).to.equal('5min ago');
    expect(ago(3600n * S + 120n * S)).to.equal('1h 2min ago');
    expect(ago(7n * 3600n * S)).to.equal('7h ago');
    expect(ago(25n * 3600n * S)).to.equal('1 day 1h ago');
    expect(ago(3n * 86400n * S)).to.equal('3 days ago');
    expect(ago(8n * 86400n * S)).to.equal('1 week 1 day ago');
    expect(ago(40n * 86400n * S)).to.equal('1 month 9 days ago');
    expect(ago(1_095n * 86400n * S + 12n * 3600n * S)).to.equal('2 years 11 months ago');
    expect(formatTimestampRelative(now + 61n * S, now)).to.equal('1min 1s left');
    expect(formatTimestampRelative(now, now)).to.equal('now');
  });
});
