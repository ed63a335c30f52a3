import { expect } from 'chai';
import { parseProcCgroup, readProcCgroup, systemdCgroupPath } from './proc-cgroup.js';

const HYBRID = `\
9:name=systemd:/machine.slice/machine-foo.scope/payload
8:pids:/
4:memory:/process_api/024401bc4ec84ed0fd85249060e722fd
2:cpu,cpuacct:/
0::/machine.slice/machine-foo.scope/payload
`;

const LEGACY = `\
11:pids:/system.slice/ssh.service
2:cpu,cpuacct:/system.slice/ssh.service
1:name=systemd:/machine.slice/machine-bar.scope
`;

const UNIFIED = '0::/machine.slice/machine-baz.scope\n';

describe('parseProcCgroup', () => {
  it('parses ids, controllers and paths', () => {
    expect(parseProcCgroup(HYBRID)).to.deep.equal([
      { id: 9, controllers: ['name=systemd'], path: '/machine.slice/machine-foo.scope/payload' },
      { id: 8, controllers: ['pids'], path: '/' },
      { id: 4, controllers: ['memory'], path: '/process_api/024401bc4ec84ed0fd85249060e722fd' },
      { id: 2, controllers: ['cpu', 'cpuacct'], path: '/' },
      { id: 0, controllers: [], path: '/machine.slice/machine-foo.scope/payload' },
    ]);
  });

  it('keeps colons inside the path and skips garbage', () => {
    expect(parseProcCgroup('0::/a:b/c\nnonsense\nx:y:/z\n')).to.deep.equal([{ id: 0, controllers: [], path: '/a:b/c' }]);
  });
});

describe('systemdCgroupPath', () => {
  it('reads the 0:: line on unified and hybrid hosts, as libsystemd does', () => {
    expect(systemdCgroupPath(parseProcCgroup(UNIFIED), 'unified')).to.equal('/machine.slice/machine-baz.scope');
    const onlyV1 = '9:name=systemd:/machine.slice/machine-foo.scope\n0::/\n';
    expect(systemdCgroupPath(parseProcCgroup(onlyV1), 'hybrid')).to.equal('/');
  });

  it('reads the name=systemd line on legacy hosts', () => {
    expect(systemdCgroupPath(parseProcCgroup(LEGACY), 'legacy')).to.equal('/machine.slice/machine-bar.scope');
  });

  it('is undefined when the line is missing', () => {
    expect(systemdCgroupPath(parseProcCgroup(LEGACY), 'hybrid')).to.equal(undefined);
    expect(systemdCgroupPath(parseProcCgroup(UNIFIED), 'legacy')).to.equal(undefined);
  });
});

describe('readProcCgroup', () => {
  it('reads this process', () => {
    const entries = readProcCgroup(process.pid);
    expect(entries.some((e) => e.id === 0)).to.equal(true);
  });

  it('fails with ESRCH for a PID that does not exist', () => {
    expect(() => readProcCgroup(2 ** 22 + 1)).to.throw().with.property('code', 'ESRCH');
  });

  it('refuses PID 0 and non-integers', () => {
    for (const pid of [0, -1, 1.5, Number.NaN]) {
      expect(() => readProcCgroup(pid)).to.throw().with.property('code', 'EINVAL');
    }
  });
});
