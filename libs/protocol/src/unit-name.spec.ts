import { expect } from 'chai';
import { machineScopeUnitName, unitNameEscape, unitNameIsValid, unitNameUnescape } from './unit-name.js';

describe('unit-name (unit_name_escape rules)', () => {
  it('escapes hyphens, a leading dot and non-ASCII, keeps [A-Za-z0-9:_.]', () => {
    expect(machineScopeUnitName('my-box')).to.equal('machine-my\\x2dbox.scope');
    expect(unitNameEscape('qemu-1-vm1')).to.equal('qemu\\x2d1\\x2dvm1');
    expect(unitNameEscape('.hidden')).to.equal('\\x2ehidden');
    expect(unitNameEscape('a.b:c_d')).to.equal('a.b:c_d');
    expect(unitNameEscape('a/b')).to.equal('a-b');
    expect(unitNameEscape('ü')).to.equal('\\xc3\\xbc');
    expect(unitNameEscape('a\\b')).to.equal('a\\x5cb');
  });

  it('unescapes what it escaped', () => {
    for (const s of ['my-box', 'a/b', 'ü', '.x', 'plain']) expect(unitNameUnescape(unitNameEscape(s))).to.equal(s);
  });

  it('recognizes unit names', () => {
    expect(unitNameIsValid('machine-foo.scope')).to.equal(true);
    expect(unitNameIsValid('systemd-nspawn@foo.service')).to.equal(true);
    expect(unitNameIsValid('machine\\x2dfoo.scope')).to.equal(true);
    expect(unitNameIsValid('process_api')).to.equal(false);
    expect(unitNameIsValid('foo.banana')).to.equal(false);
    expect(unitNameIsValid('.scope')).to.equal(false);
    for (const bad of ['', 'a/b.scope', '../x.scope', 'getty@.service', '@x.service', 'sp ace.scope', `${'a'.repeat(250)}.scope`]) {
      expect(unitNameIsValid(bad), bad).to.equal(false);
    }
    expect(unitNameIsValid('getty@tty1.service')).to.equal(true);
  });
});
