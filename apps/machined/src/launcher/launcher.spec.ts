import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig, type Config } from '../config.js';
import type { Image } from '../images/image.js';
import { BuiltinLauncher } from './builtin-launcher.js';
import { Enablement } from './enablement.js';
import { findProgram } from './find-program.js';
import { nspawnArguments, NspawnLauncher } from './nspawn-launcher.js';
import { chooseLauncher } from './setup.js';
import { hostVethName } from './veth.js';

const image = (type: Image['type'], path = '/var/lib/machines/foo'): Image => ({ name: 'foo', path, type, readOnly: false }) as unknown as Image;
const req = (type: Image['type'] = 'directory', network: 'veth' | 'private' | 'host' = 'veth') => ({ name: 'foo', image: image(type), network, busAddress: 'unix:path=/x' });

describe('machine launchers', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'machined-launcher-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("runs systemd-nspawn with upstream's systemd-nspawn@.service arguments, the image's place and the configured network", () => {
    expect(nspawnArguments(req())).to.deep.equal([
      '--quiet', '--keep-unit', '--boot', '--link-journal=try-guest', '--network-veth', '-U', '--settings=override', '--machine=foo',
      '--directory=/var/lib/machines/foo',
    ]);
    expect(nspawnArguments(req('raw', 'private'))).to.include('--private-network').and.include('--image=/var/lib/machines/foo');
    expect(nspawnArguments(req('directory', 'host')).filter((a) => a.includes('network'))).to.deep.equal([]);
    const cmd = new NspawnLauncher('/usr/bin/systemd-nspawn').command(req());
    expect(cmd.argv[0]).to.equal('/usr/bin/systemd-nspawn');
    expect(cmd.env.DBUS_SYSTEM_BUS_ADDRESS).to.equal('unix:path=/x');
    expect(cmd.env.NOTIFY_SOCKET).to.equal(undefined);
    expect(cmd.handshake).to.equal(false);
  });

  it('builds the unshare command of the built-in launcher, with a network namespace unless host networking', () => {
    const cmd = new BuiltinLauncher('/usr/bin/unshare').command(req('directory', 'private'));
    expect(cmd.argv.slice(0, 2)).to.deep.equal(['/usr/bin/unshare', '--user']);
    expect(cmd.argv).to.include.members(['--pid', '--fork', '--mount', '--uts', '--ipc', '--net']);
    expect(cmd.handshake).to.equal(true);
    expect(cmd.idMap).to.equal('0 0 65536\n');
    expect(cmd.env.MACHINED_CONTAINER_SETUP).to.contain('pivot_root . .');
    expect(new BuiltinLauncher('/usr/bin/unshare').command(req('directory', 'host')).argv).not.to.include('--net');
    expect(() => new BuiltinLauncher('/usr/bin/unshare').command(req('raw'))).to.throw(/only directory images/);
  });

  it('uses systemd-nspawn when it is on PATH, else unshare, as configured', () => {
    for (const p of ['systemd-nspawn', 'unshare']) {
      writeFileSync(join(dir, p), '#!/bin/sh\n');
      chmodSync(join(dir, p), 0o755);
    }
    expect(findProgram('unshare', `/nonexistent:${dir}`)).to.equal(join(dir, 'unshare'));
    expect(chooseLauncher('auto', dir).kind).to.equal('systemd-nspawn');
    expect(chooseLauncher('builtin', dir).kind).to.equal('builtin');
    rmSync(join(dir, 'systemd-nspawn'));
    expect(chooseLauncher('auto', dir).kind).to.equal('builtin');
    expect(() => chooseLauncher('systemd-nspawn', dir)).to.throw(/not on PATH/);
    mkdirSync(join(dir, 'empty'));
    expect(() => chooseLauncher('auto', join(dir, 'empty'))).to.throw(/unshare/);
  });

  it('names host veths as nspawn does, within IFNAMSIZ', () => {
    expect(hostVethName('foo')).to.equal('ve-foo');
    expect(hostVethName('a-very-long-machine-name').length).to.be.at.most(15);
    expect(hostVethName('a-very-long-machine-name')).to.match(/^ve-/);
  });

  it('records enablement in its file; machines.target counts as enabled until disabled', () => {
    const file = join(dir, 'sub', 'enabled-units');
    const e = new Enablement(file);
    e.load();
    expect(e.targetEnabled()).to.equal(true);
    expect(e.enable(['machines.target', 'systemd-nspawn@foo.service'], false)).to.deep.equal([
      ['symlink', file, 'machines.target'],
      ['symlink', file, 'systemd-nspawn@foo.service'],
    ]);
    expect(e.enable(['systemd-nspawn@foo.service'], false)).to.deep.equal([]);
    const again = new Enablement(file);
    again.load();
    expect(again.enabledMachineUnits()).to.deep.equal(['systemd-nspawn@foo.service']);
    expect(again.disable(['systemd-nspawn@foo.service', 'systemd-nspawn@bar.service'], false)).to.deep.equal([['unlink', `${file} (systemd-nspawn@foo.service)`, '']]);
    again.disable(['machines.target'], false);
    expect(again.targetEnabled()).to.equal(false);
    expect(readFileSync(file, 'utf8')).to.contain('!machines.target');
    again.enable(['machines.target'], false);
    expect(again.targetEnabled()).to.equal(true);
    // Runtime enablement is not saved.
    again.enable(['systemd-nspawn@rt.service'], true);
    expect(readFileSync(file, 'utf8')).not.to.contain('rt.service');
    expect(again.enabledMachineUnits()).to.include('systemd-nspawn@rt.service');
  });

  it('takes launcher, network and enablement file from flags and the environment', () => {
    const cfg = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(argv, env) as Config;
    expect(cfg([])).to.deep.include({ launcher: 'auto', machineNetwork: 'veth', enabledUnitsFile: '/var/lib/machined/enabled-units' });
    expect(cfg(['--launcher', 'builtin', '--machine-network', 'private', '--enabled-units-file', '/e'])).to.deep.include({ launcher: 'builtin', machineNetwork: 'private', enabledUnitsFile: '/e' });
    expect(cfg([], { MACHINED_LAUNCHER: 'systemd-nspawn', MACHINED_MACHINE_NETWORK: 'host' })).to.deep.include({ launcher: 'systemd-nspawn', machineNetwork: 'host' });
    expect(() => parseConfig(['--launcher', 'lxc'], {})).to.throw(ConfigError, /lxc/);
    expect(() => parseConfig(['--machine-network', 'bridge'], {})).to.throw(ConfigError, /bridge/);
    expect(() => parseConfig(['--enabled-units-file', 'rel'], {})).to.throw(ConfigError, /rel/);
  });
});
