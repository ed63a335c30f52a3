import { expect } from 'chai';
import { DEFAULT_RUNTIME_DIR } from '@machined/protocol';
import { ConfigError, DEFAULT_HOSTS_SOCKET, parseConfig } from './config.js';

describe('nss-helper configuration', () => {
  it('has the real defaults', () => {
    expect(parseConfig([], {})).to.deep.equal({ runtimeDir: DEFAULT_RUNTIME_DIR, hostsSocket: DEFAULT_HOSTS_SOCKET, logLevel: 'info' });
  });

  it('takes flags over the environment', () => {
    expect(parseConfig(['--socket', '/tmp/s', '--runtime-dir', '/tmp/r', '--log-level', 'debug'], { MACHINED_NSS_SOCKET: '/x' })).to.deep.equal({
      runtimeDir: '/tmp/r',
      hostsSocket: '/tmp/s',
      logLevel: 'debug',
    });
    expect(parseConfig([], { MACHINED_NSS_SOCKET: '/x/y' })).to.include({ hostsSocket: '/x/y' });
  });

  it('refuses unknown flags, relative and over-long socket paths', () => {
    expect(() => parseConfig(['--bogus'], {})).to.throw(ConfigError);
    expect(() => parseConfig(['--socket', 'rel'], {})).to.throw(ConfigError, /absolute/);
    expect(() => parseConfig(['--socket', `/${'a'.repeat(120)}`], {})).to.throw(ConfigError, /longer/);
    expect(() => parseConfig(['--log-level', 'loud'], {})).to.throw(ConfigError);
  });

  it('the default socket is the one the NSS module is built with', async () => {
    const { readFileSync } = await import('node:fs');
    const c = readFileSync(new URL('../native/libnss_machines.c', import.meta.url), 'utf8');
    expect(c).to.contain(`#define DEFAULT_SOCKET "${DEFAULT_HOSTS_SOCKET}"`);
  });
});
