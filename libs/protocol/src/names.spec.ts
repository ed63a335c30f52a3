import { expect } from 'chai';
import { hostnameIsValid, imageNameIsValid, machineNameIsValid, parseKillWhom, parseMachineClass, signalIsValid } from './names.js';

describe('names', () => {
  it('accepts host names as machine names', () => {
    for (const n of ['foo', 'my-box', 'my-box.local', 'a', 'x'.repeat(64), 'A1-b2.c3', '.host']) {
      expect(machineNameIsValid(n), n).to.equal(true);
    }
  });

  it('refuses what hostname_is_valid refuses', () => {
    for (const n of ['', 'x'.repeat(65), 'a/b', '..', 'a..b', '.a', 'a.', '-a', 'a-', 'a.-b', 'my box', 'über', 'a_b', 'a\nb']) {
      expect(machineNameIsValid(n), JSON.stringify(n)).to.equal(false);
    }
    expect(hostnameIsValid('.host')).to.equal(false);
  });

  it('validates image names as file names', () => {
    expect(imageNameIsValid('fedora-40.raw')).to.equal(true);
    expect(imageNameIsValid('.hidden')).to.equal(true);
    for (const n of ['', '.', '..', 'a/b', 'a\u0001b', 'x'.repeat(256)]) expect(imageNameIsValid(n), n).to.equal(false);
  });

  it('parses classes, kill targets and signals', () => {
    expect(parseMachineClass('container')).to.equal('container');
    expect(parseMachineClass('vm')).to.equal('vm');
    expect(parseMachineClass('')).to.equal('');
    expect(parseMachineClass('banana')).to.equal(null);
    expect(parseMachineClass('host')).to.equal(null);
    expect(parseKillWhom('')).to.equal('all');
    expect(parseKillWhom('leader')).to.equal('leader');
    expect(parseKillWhom('everyone')).to.equal(null);
    expect(signalIsValid(9)).to.equal(true);
    expect(signalIsValid(0)).to.equal(false);
    expect(signalIsValid(65)).to.equal(false);
  });
});
