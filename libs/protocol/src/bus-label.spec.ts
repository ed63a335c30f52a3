import { expect } from 'chai';
import { busLabelEscape, busLabelUnescape, machineNameFromObjectPath, machineObjectPath, systemdUnitObjectPath } from './bus-label.js';

describe('bus-label (sd_bus_path_encode rules)', () => {
  const table: Array<[string, string]> = [
    ['foo1', 'foo1'],
    ['my-box.local', 'my_2dbox_2elocal'],
    ['1abc', '_31abc'],
    ['a_b', 'a_5fb'],
    ['', '_'],
    ['ü', '_c3_bc'],
    ['A9z', 'A9z'],
    ['.host', '_2ehost'],
  ];
  for (const [input, label] of table) {
    it(`escapes ${JSON.stringify(input)} as ${label} and back`, () => {
      expect(busLabelEscape(input)).to.equal(label);
      expect(busLabelUnescape(label)).to.equal(input);
    });
  }

  it('builds machine and unit object paths as machinectl expects', () => {
    expect(machineObjectPath('my-box')).to.equal('/org/freedesktop/machine1/machine/my_2dbox');
    expect(systemdUnitObjectPath('machine-my-box.local.scope')).to.equal(
      '/org/freedesktop/systemd1/unit/machine_2dmy_2dbox_2elocal_2escope',
    );
  });

  it('finds the machine name behind a path and rejects other paths', () => {
    expect(machineNameFromObjectPath('/org/freedesktop/machine1/machine/_2ehost')).to.equal('.host');
    expect(machineNameFromObjectPath('/org/freedesktop/machine1/machine/a/b')).to.equal(null);
    expect(machineNameFromObjectPath('/org/freedesktop/machine1/image/foo')).to.equal(null);
    expect(busLabelUnescape('a_zz')).to.equal(null);
    expect(busLabelUnescape('a.b')).to.equal(null);
  });
});
