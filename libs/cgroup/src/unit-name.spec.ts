import { expect } from 'chai';
import { unitTypeInterface } from './unit-name.js';

describe('unitTypeInterface', () => {
  it('names the interface carrying ControlGroup for the unit type', () => {
    expect(unitTypeInterface('machine-foo.scope')).to.equal('org.freedesktop.systemd1.Scope');
    expect(unitTypeInterface('systemd-nspawn@foo.service')).to.equal('org.freedesktop.systemd1.Service');
  });
});
