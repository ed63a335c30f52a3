import { expect } from 'chai';
import { ExitMarkerFilter, wrapForExitStatus } from './exit-marker.js';

describe('shell --wait exit marker', () => {
  const marker = (n: number) => `\x1b]3008;machinectl-exit=${n}\x07`;

  it('wraps the command in /bin/sh, keeping its arguments', () => {
    const w = wrapForExitStatus('/bin/ls', ['/bin/ls', '-l', 'a b']);
    expect(w.path).to.equal('/bin/sh');
    expect(w.argv.slice(0, 2)).to.deep.equal(['/bin/sh', '-c']);
    expect(w.argv.slice(3)).to.deep.equal(['sh', '/bin/ls', '-l', 'a b']);
  });

  it('takes the marker out of the output and keeps the status', () => {
    const f = new ExitMarkerFilter();
    expect(f.push(`hello\r\n${marker(7)}`)).to.equal('hello\r\n');
    expect(f.flush()).to.equal('');
    expect(f.status).to.equal(7);
  });

  it('finds a marker split across chunks, byte by byte', () => {
    const f = new ExitMarkerFilter();
    let out = '';
    for (const c of `out${marker(42)}after`) out += f.push(c);
    out += f.flush();
    expect(out).to.equal('outafter');
    expect(f.status).to.equal(42);
  });

  it('passes through look-alikes that are not markers', () => {
    const f = new ExitMarkerFilter();
    const text = '\x1b]3008;machinectl-exit=abc\x07 and \x1b]0;title\x07';
    expect(f.push(text) + f.flush()).to.equal(text);
    expect(f.status).to.equal(undefined);
    const g = new ExitMarkerFilter();
    const long = '\x1b]3008;machinectl-exit=123456789';
    expect(g.push(long) + g.flush()).to.equal(long);
  });

  it('gives back a held tail when the stream ends', () => {
    const f = new ExitMarkerFilter();
    expect(f.push('abc\x1b]30')).to.equal('abc');
    expect(f.flush()).to.equal('\x1b]30');
  });
});
