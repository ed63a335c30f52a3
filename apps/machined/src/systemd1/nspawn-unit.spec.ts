import { expect } from 'chai';
import { nspawnUnitMachine } from './nspawn-unit.js';

describe('systemd-nspawn@NAME.service', () => {
  it('names the machine of the instance, \\xNN escapes undone and nothing else', () => {
    expect(nspawnUnitMachine('systemd-nspawn@foo.service')).to.equal('foo');
    expect(nspawnUnitMachine('systemd-nspawn@foo-bar.service')).to.equal('foo-bar');
    expect(nspawnUnitMachine('systemd-nspawn@foo\\x2dbar.service')).to.equal('foo-bar');
  });

  it('is null for other units and for instances that are no machine names', () => {
    for (const u of ['foo.service', 'systemd-nspawn@.service', 'systemd-nspawn@foo.scope', 'machine-foo.scope', 'systemd-nspawn@a\\x2fb.service', 'systemd-nspawn@-x.service']) {
      expect(nspawnUnitMachine(u), u).to.equal(null);
    }
  });
});
