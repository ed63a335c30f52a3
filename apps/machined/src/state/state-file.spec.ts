import { expect } from 'chai';
import { formatStateFile, parseStateFile, type MachineState } from './state-file.js';
import { formatAssignment, parseEnvFile } from './env-file.js';

const state: MachineState = {
  name: 'my-box',
  uid: 0,
  unit: 'machine-my\\x2dbox.scope',
  service: 'systemd-nspawn',
  rootDirectory: '/var/lib/machines/my box',
  id: '0123456789abcdef0123456789abcdef',
  leader: 4242,
  class: 'container',
  realtime: 1700000000123456n,
  monotonic: 98765n,
  networkInterfaces: [3, 7],
};

describe('state file', () => {
  it("writes systemd's header, keys and order, quoting what needs it", () => {
    expect(formatStateFile(state)).to.equal(
      [
        '# This is private data. Do not parse.',
        'NAME=my-box',
        'UID=0',
        'SCOPE="machine-my\\\\x2dbox.scope"',
        'SERVICE=systemd-nspawn',
        'ROOT="/var/lib/machines/my box"',
        'ID=0123456789abcdef0123456789abcdef',
        'LEADER=4242',
        'CLASS=container',
        'REALTIME=1700000000123456',
        'MONOTONIC=98765',
        'NETIF="3 7"',
        '',
      ].join('\n'),
    );
  });

  it('reads back what it wrote', () => {
    expect(parseStateFile(formatStateFile(state))).to.deep.equal(state);
  });

  it('leaves out empty values as upstream does', () => {
    const text = formatStateFile({ ...state, service: '', rootDirectory: '', id: '', networkInterfaces: [] });
    expect(text).not.to.match(/^(SERVICE|ROOT|ID|NETIF)=/m);
  });

  it('tolerates missing and unknown keys (systemd#39061) and a file written by systemd 257', () => {
    const upstream = [
      '# This is private data. Do not parse.',
      'NAME=lanman',
      'SCOPE=systemd-nspawn@lanman.service',
      'SERVICE=systemd-nspawn',
      'ROOT=/var/lib/machines/lanman',
      'ID=58a9d8e8750a4742a1737c0b34c8b5a4',
      'LEADER=678836',
      'CLASS=container',
      'REALTIME=1749370068325273',
      'MONOTONIC=8361763232442',
      'NETIF=12',
      'LEADER_PIDFDID=1234',
      'SOMETHING_NEW=yes',
    ].join('\n');
    const parsed = parseStateFile(upstream);
    expect(parsed.name).to.equal('lanman');
    expect(parsed.uid).to.equal(0);
    expect(parsed.unit).to.equal('systemd-nspawn@lanman.service');
    expect(parsed.leader).to.equal(678836);
    expect(parsed.networkInterfaces).to.deep.equal([12]);
    expect(parseStateFile('NAME=x\n')).to.include({ name: 'x', leader: 0, class: '', unit: '' });
    expect(parseStateFile('garbage\nLEADER=abc\nID=nothex')).to.include({ leader: 0, id: '' });
  });
});

describe('env file', () => {
  it('quotes and escapes as env_file_fputs_assignment', () => {
    expect(formatAssignment('A', 'plain-value.1')).to.equal('A=plain-value.1\n');
    expect(formatAssignment('A', 'has space')).to.equal('A="has space"\n');
    expect(formatAssignment('A', 'q"b\\$`')).to.equal('A="q\\"b\\\\\\$\\`"\n');
  });

  it('parses double quotes, single quotes, comments and blank lines', () => {
    const kv = parseEnvFile('# c\n\nA="x \\" y"\nB=\'lit\\eral\'\nC=bare\n  D = "sp"\n');
    expect(Object.fromEntries(kv)).to.deep.equal({ A: 'x " y', B: 'lit\\eral', C: 'bare', D: ' sp' });
  });
});
