import { expect } from 'chai';
import { ConfigError, parseConfig } from './config.js';

describe('config', () => {
  it('has the real defaults and honours DBUS_SYSTEM_BUS_ADDRESS', () => {
    const cfg = parseConfig([], { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/tmp/x' });
    expect(cfg).to.deep.include({
      busAddress: 'unix:path=/tmp/x',
      stateDir: '/run/systemd/machines',
      runtimeDir: '/run/machined',
      poolPath: '/var/lib/machines',
      terminateTimeoutMs: 90000,
      systemd1: 'auto',
      cgroupBackend: 'auto',
    });
    expect(parseConfig([], {})).to.deep.include({ busAddress: 'unix:path=/run/dbus/system_bus_socket' });
  });

  it('takes flags over the environment', () => {
    const cfg = parseConfig(['--state-dir', '/tmp/s', '--terminate-timeout', '1.5'], { MACHINED_STATE_DIR: '/tmp/e' });
    expect(cfg).to.deep.include({ stateDir: '/tmp/s', terminateTimeoutMs: 1500 });
  });

  it('finds the C helpers beside the bundle unless told otherwise', () => {
    expect((parseConfig([], {}) as { libexecDir: string }).libexecDir).to.match(/\/libexec\/$/);
    expect(parseConfig(['--libexec-dir', '/opt/m/libexec'], { MACHINED_LIBEXEC_DIR: '/e' })).to.deep.include({ libexecDir: '/opt/m/libexec' });
    expect(parseConfig([], { MACHINED_LIBEXEC_DIR: '/e' })).to.deep.include({ libexecDir: '/e' });
  });

  it('refuses unknown flags and bad values with a message', () => {
    expect(() => parseConfig(['--bogus'], {})).to.throw(ConfigError, /bogus/);
    expect(() => parseConfig(['--terminate-timeout', 'soon'], {})).to.throw(ConfigError, /soon/);
    expect(() => parseConfig(['--cgroup-backend', 'magic'], {})).to.throw(ConfigError, /magic/);
    expect(() => parseConfig(['--systemd1', 'maybe'], {})).to.throw(ConfigError, /maybe/);
    expect(parseConfig(['--help'], {})).to.equal('help');
  });
});
