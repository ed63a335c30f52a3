import { expect } from 'chai';
import { formatProgressLine, formatTimeLeft, parseDownloadSize, ProgressLine } from './transfer-progress.js';

describe('transfer progress line', () => {
  it('shows bar, percent, bytes of the total, rate and time left', () => {
    const line = formatProgressLine({ fraction: 0.5, total: 10 << 20, elapsedMs: 2000, startFraction: 0 }, 100);
    expect(line).to.match(/^Total: \[=+>\s+\]  50% 5\.0M\/10\.0M 2\.5M\/s 2s left$/);
    expect(line.length).to.be.at.most(100);
  });

  it('without a total: percent and time left only; unknown progress: n/a', () => {
    expect(formatProgressLine({ fraction: 0.25, total: null, elapsedMs: 10_000, startFraction: 0 }, 80)).to.match(/ 25% 30s left$/);
    expect(formatProgressLine({ fraction: -1, total: null, elapsedMs: 0, startFraction: 0 }, 80)).to.match(/^Total: \[ +\]  n\/a$/);
  });

  it('fits narrow terminals by dropping the bar, then the details', () => {
    const narrow = formatProgressLine({ fraction: 0.5, total: 10 << 20, elapsedMs: 2000, startFraction: 0 }, 30);
    expect(narrow.length).to.be.at.most(30);
    expect(narrow).to.match(/^Total: +50%/);
  });

  it('measures the rate from the first progress seen (a transfer joined half-way)', () => {
    const line = formatProgressLine({ fraction: 0.6, total: 100 << 20, elapsedMs: 1000, startFraction: 0.5 }, 100);
    expect(line).to.contain('10.0M/s').and.contain('4s left');
  });

  it('reads the size from the server\'s "Downloading" line', () => {
    expect(parseDownloadSize('Downloading 12.5M for http://h/x.tar.xz.')).to.equal(Math.round(12.5 * 1024 * 1024));
    expect(parseDownloadSize('Downloading 300B for x.')).to.equal(300);
    expect(parseDownloadSize('Imported 40%.')).to.equal(null);
  });

  it('formats time left as format_timespan would', () => {
    expect([formatTimeLeft(4.4), formatTimeLeft(124), formatTimeLeft(3600), formatTimeLeft(3720)]).to.deep.equal(['4s', '2min 4s', '1h', '1h 2min']);
  });

  it('draws with a carriage return, wipes the line on clear, and ignores unknown progress', () => {
    const out: string[] = [];
    let now = 0;
    const p = new ProgressLine((s) => out.push(s), () => 60, null, () => now);
    p.update(-Number.MAX_VALUE);
    expect(out).to.deep.equal([]);
    p.noteLogLine('Downloading 1.0M for http://h/x.');
    p.update(0.1);
    now = 1000;
    p.update(0.2);
    expect(out[1]).to.match(/^\rTotal: .* 20% 204\.[78]K\/1\.0M 102\.4K\/s 8s left\x1b\[K$/);
    p.clear();
    p.clear();
    expect(out.slice(2)).to.deep.equal(['\r\x1b[K']);
    p.redraw();
    expect(out[3]).to.match(/^\rTotal: .* 20% /);
    const fresh = new ProgressLine((s) => out.push(s), () => 60, null);
    fresh.redraw();
    expect(out).to.have.length(4);
  });
});
