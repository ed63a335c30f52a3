import { expect } from 'chai';
import { isValidUnitName, unitObjectPath, unitTypeInterface } from './unit-name.js';

describe('isValidUnitName', () => {
  for (const name of ['machine-foo.scope', 'machine-my\\x2dbox.scope', 'a-b.slice', 'getty@tty1.service', 'x:y_z.scope']) {
    it(`accepts ${name}`, () => expect(isValidUnitName(name)).to.equal(true));
  }
  for (const name of ['', '.scope', 'foo', 'foo.bar', 'a/b.scope', '../x.scope', 'getty@.service', '@x.service',
    'sp ace.scope', `${'a'.repeat(250)}.scope`]) {
    it(`refuses ${JSON.stringify(name)}`, () => expect(isValidUnitName(name)).to.equal(false));
  }
});

describe('unitObjectPath', () => {
  it('escapes like sd_bus_path_encode', () => {
    expect(unitObjectPath('machine-foo.scope')).to.equal('/org/freedesktop/systemd1/unit/machine_2dfoo_2escope');
    expect(unitObjectPath('1abc.scope')).to.equal('/org/freedesktop/systemd1/unit/_31abc_2escope');
    expect(unitObjectPath('machine-my\\x2dbox.scope'))
      .to.equal('/org/freedesktop/systemd1/unit/machine_2dmy_5cx2dbox_2escope');
    expect(unitObjectPath('')).to.equal('/org/freedesktop/systemd1/unit/_');
  });
});

describe('unitTypeInterface', () => {
  it('names the interface carrying ControlGroup for the unit type', () => {
    expect(unitTypeInterface('machine-foo.scope')).to.equal('org.freedesktop.systemd1.Scope');
    expect(unitTypeInterface('systemd-nspawn@foo.service')).to.equal('org.freedesktop.systemd1.Service');
  });
});
