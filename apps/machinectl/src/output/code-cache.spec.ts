import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The built deployable (the test target depends on the build): its launcher keeps the V8 code
// cache (tools/build/cli/code-cache-launcher.cjs).
const ENTRY = fileURLToPath(new URL('../../dist/bin/machinectl.cjs', import.meta.url));

function machinectl(cacheHome: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [ENTRY, ...args], {
    // No bus: `list` fails after loading and running most of the CLI, which is what gets cached.
    env: { PATH: process.env.PATH, XDG_CACHE_HOME: cacheHome, DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent', ...extraEnv },
    encoding: 'utf8',
  });
}

describe('the code cache of the CLI launcher', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'machinectl-cache-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));
  const cacheFiles = () => (existsSync(join(home, 'machined')) ? readdirSync(join(home, 'machined')) : []);

  it('is written by the first real run, not by --version, and later runs behave the same', () => {
    expect(machinectl(home, ['--version']).status).to.equal(0);
    expect(cacheFiles()).to.deep.equal([]);
    const first = machinectl(home, ['--no-pager', 'list']);
    expect(cacheFiles()).to.deep.equal([`machinectl-${process.version}.v8cache`]);
    const second = machinectl(home, ['--no-pager', 'list']);
    expect([second.status, second.stdout, second.stderr]).to.deep.equal([first.status, first.stdout, first.stderr]);
  });

  it('is not used in a directory others may write to, nor with MACHINED_NO_CODE_CACHE=1', () => {
    mkdirSync(join(home, 'machined'), { mode: 0o777 });
    chmodSync(join(home, 'machined'), 0o777);
    expect(machinectl(home, ['--no-pager', 'list']).stderr).to.contain('Failed to connect to bus');
    expect(cacheFiles()).to.deep.equal([]);
    chmodSync(join(home, 'machined'), 0o700);
    machinectl(home, ['--no-pager', 'list'], { MACHINED_NO_CODE_CACHE: '1' });
    expect(cacheFiles()).to.deep.equal([]);
  });
});
