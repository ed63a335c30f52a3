import { expect } from 'chai';
import { parseSynthesizedName, parseUid, synthesizedName, uidIsValid, validGecos, validUserGroupName } from './user-names.js';

describe('container user and group names', () => {
  it('splits at the last dash, so machine names may contain dashes', () => {
    expect(parseSynthesizedName('user', 'vu-a-b-0')).to.deep.equal({ machine: 'a-b', id: 0 });
    expect(parseSynthesizedName('user', 'vu-foo-65534')).to.deep.equal({ machine: 'foo', id: 65534 });
    expect(parseSynthesizedName('group', 'vg-my-box-5')).to.deep.equal({ machine: 'my-box', id: 5 });
    expect(synthesizedName('user', 'a-b', 0)).to.equal('vu-a-b-0');
    expect(synthesizedName('group', 'foo', 7)).to.equal('vg-foo-7');
  });

  it('refuses names that are not synthesized ones', () => {
    for (const name of ['root', 'vu-foo', 'vu-foo-', 'vu-foo-x', 'vu-foo-007', 'vu-foo-65535', 'vu-foo-4294967295', 'vu-foo-99999999999', 'vu-a.b-0', 'vg-foo-0', 'vu-' + 'x'.repeat(27) + '-0']) {
      expect(parseSynthesizedName('user', name), name).to.equal(null);
    }
    expect(parseSynthesizedName('group', 'vu-foo-0')).to.equal(null);
    // 31 characters is the limit (utmp).
    expect(parseSynthesizedName('user', 'vu-' + 'x'.repeat(26) + '-0')).to.deep.equal({ machine: 'x'.repeat(26), id: 0 });
  });

  it('applies the strict user name rules', () => {
    expect(validUserGroupName('vu-foo-0')).to.equal(true);
    expect(validUserGroupName('_x')).to.equal(true);
    expect(validUserGroupName('0abc')).to.equal(false);
    expect(validUserGroupName('-abc')).to.equal(false);
    expect(validUserGroupName('a.b')).to.equal(false);
    expect(validUserGroupName('')).to.equal(false);
    expect(validUserGroupName('a'.repeat(32))).to.equal(false);
  });

  it('knows valid UIDs and GECOS', () => {
    expect(uidIsValid(0)).to.equal(true);
    expect(uidIsValid(65535)).to.equal(false);
    expect(uidIsValid(4294967295)).to.equal(false);
    expect(uidIsValid(4294967294)).to.equal(true);
    expect(uidIsValid(-1)).to.equal(false);
    expect(uidIsValid(1.5)).to.equal(false);
    expect(parseUid('4294967294')).to.equal(4294967294);
    expect(parseUid('+1')).to.equal(null);
    expect(validGecos('UID 0 of Container foo')).to.equal(true);
    expect(validGecos('a:b')).to.equal(false);
    expect(validGecos('a\nb')).to.equal(false);
  });
});
