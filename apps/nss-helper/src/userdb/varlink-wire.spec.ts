import { expect } from 'chai';
import { VarlinkDecoder, VarlinkProtocolError, encodeMessage, interfaceOf, methodNameIsValid, parseCall } from './varlink-wire.js';

const nul = (s: string) => Buffer.from(`${s}\0`, 'utf8');

describe('varlink framing', () => {
  it('splits NUL-terminated messages, several per chunk and one across chunks', () => {
    const d = new VarlinkDecoder();
    const all = Buffer.concat([nul('{"a":1}'), nul('{"b":2}'), Buffer.from('{"c":')]);
    expect(d.push(all)).to.deep.equal([{ a: 1 }, { b: 2 }]);
    expect(d.push(Buffer.from('3'))).to.deep.equal([]);
    expect(d.push(nul('}'))).to.deep.equal([{ c: 3 }]);
  });

  it('decodes a multi-byte character cut between two reads', () => {
    const d = new VarlinkDecoder();
    const bytes = nul(JSON.stringify({ s: 'Zürich ☃' }));
    const cut = bytes.indexOf(0xe2) + 1; // inside the snowman's three bytes
    expect(d.push(bytes.subarray(0, cut))).to.deep.equal([]);
    expect(d.push(bytes.subarray(cut))).to.deep.equal([{ s: 'Zürich ☃' }]);
  });

  it('refuses invalid JSON, invalid UTF-8 and messages past the size limit', () => {
    expect(() => new VarlinkDecoder().push(nul('{nope'))).to.throw(VarlinkProtocolError, /not valid JSON/);
    expect(() => new VarlinkDecoder().push(Buffer.from([0x7b, 0xff, 0x7d, 0]))).to.throw(VarlinkProtocolError, /UTF-8/);
    const small = new VarlinkDecoder(16);
    expect(() => small.push(Buffer.from('x'.repeat(17)))).to.throw(VarlinkProtocolError, /without a message terminator/);
    expect(() => new VarlinkDecoder(16).push(nul(`"${'x'.repeat(20)}"`))).to.throw(VarlinkProtocolError, /exceeds/);
  });

  it('encodes a reply as JSON plus one NUL', () => {
    expect(encodeMessage({ parameters: { x: 1 } }).toString()).to.equal('{"parameters":{"x":1}}\0');
  });
});

describe('varlink calls', () => {
  it('fills in defaults for parameters and flags', () => {
    expect(parseCall({ method: 'io.systemd.UserDatabase.GetUserRecord' })).to.deep.equal({
      method: 'io.systemd.UserDatabase.GetUserRecord',
      parameters: {},
      oneway: false,
      more: false,
      upgrade: false,
    });
    expect(parseCall({ method: 'org.varlink.service.GetInfo', parameters: { a: 1 }, more: true }).more).to.equal(true);
  });

  it('treats malformed calls as protocol errors', () => {
    for (const bad of [
      [],
      'x',
      {},
      { method: 'nodots' },
      { method: 'io.systemd.lowercase' },
      { method: 'a.B', parameters: [] },
      { method: 'a.B', more: 'yes' },
      { method: 'a.B', oneway: true, more: true },
      { method: 'a.B', extra: 1 },
    ]) {
      expect(() => parseCall(bad), JSON.stringify(bad)).to.throw(VarlinkProtocolError);
    }
  });

  it('knows interface and member names', () => {
    expect(methodNameIsValid('io.systemd.UserDatabase.GetUserRecord')).to.equal(true);
    expect(methodNameIsValid('org.varlink.service.GetInfo')).to.equal(true);
    expect(methodNameIsValid('.GetInfo')).to.equal(false);
    expect(interfaceOf('io.systemd.UserDatabase.GetUserRecord')).to.equal('io.systemd.UserDatabase');
  });
});
