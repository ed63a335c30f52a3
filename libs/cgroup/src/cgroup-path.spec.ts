import { expect } from 'chai';
import {
  assertCgroupPath, cgEscape, cgUnescape, slicePath, unitCgroupPath, unitFromCgroupPath, unitLocation,
} from './cgroup-path.js';

describe('cgEscape / cgUnescape', () => {
  const cases: Array<[string, string]> = [
    ['machine-foo.scope', 'machine-foo.scope'],
    ['machine.slice', 'machine.slice'],
    ['cgroup.procs', '_cgroup.procs'],
    ['cgroup.scope', '_cgroup.scope'],
    ['tasks', '_tasks'],
    ['notify_on_release', '_notify_on_release'],
    ['release_agent', '_release_agent'],
    ['cpu.foo', '_cpu.foo'],
    ['cpuacct.scope', '_cpuacct.scope'],
    ['memory.slice', '_memory.slice'],
    ['pids.scope', '_pids.scope'],
    ['bpf-firewall.scope', '_bpf-firewall.scope'],
    ['cpufoo.scope', 'cpufoo.scope'],
    ['_foo.scope', '__foo.scope'],
    ['.hidden', '_.hidden'],
  ];
  for (const [name, escaped] of cases) {
    it(`${name} → ${escaped}, and back`, () => {
      expect(cgEscape(name)).to.equal(escaped);
      expect(cgUnescape(escaped)).to.equal(name);
    });
  }
});

describe('slicePath', () => {
  it('maps slice names to nested paths', () => {
    expect(slicePath('machine.slice')).to.equal('/machine.slice');
    expect(slicePath('a-b.slice')).to.equal('/a.slice/a-b.slice');
    expect(slicePath('a-b-c.slice')).to.equal('/a.slice/a-b.slice/a-b-c.slice');
    expect(slicePath('-.slice')).to.equal('/');
  });

  it('escapes components that clash with kernel names', () => {
    expect(slicePath('cpu-x.slice')).to.equal('/_cpu.slice/cpu-x.slice');
    expect(slicePath('memory.slice')).to.equal('/_memory.slice');
  });

  for (const bad of ['machine', 'machine.scope', '-a.slice', 'a-.slice', 'a--b.slice', 'a/b.slice', 'a@b.slice', '']) {
    it(`refuses ${JSON.stringify(bad)}`, () => expect(() => slicePath(bad)).to.throw(/Invalid slice name/));
  }
});

describe('unitCgroupPath / unitLocation', () => {
  it('joins slice path and escaped unit', () => {
    expect(unitCgroupPath('machine.slice', 'machine-my\\x2dbox.scope')).to.equal('/machine.slice/machine-my\\x2dbox.scope');
    expect(unitCgroupPath('-.slice', 'foo.scope')).to.equal('/foo.scope');
    expect(unitCgroupPath('machine.slice', 'tasks.scope')).to.equal('/machine.slice/tasks.scope');
    expect(unitLocation('a-b.slice', 'machine-x.scope'))
      .to.deep.equal({ unit: 'machine-x.scope', cgroupPath: '/a.slice/a-b.slice/machine-x.scope', subgroup: '' });
  });

  it('refuses unit names that could leave the slice directory', () => {
    expect(() => unitCgroupPath('machine.slice', '../x.scope')).to.throw(/Invalid unit name/);
    expect(() => unitCgroupPath('machine.slice', 'a/b.scope')).to.throw(/Invalid unit name/);
  });
});

describe('unitFromCgroupPath', () => {
  it('skips slices and splits off the subgroup', () => {
    expect(unitFromCgroupPath('/machine.slice/machine-foo.scope')).to.deep.equal(
      { unit: 'machine-foo.scope', cgroupPath: '/machine.slice/machine-foo.scope', subgroup: '' });
    expect(unitFromCgroupPath('/machine.slice/machine-foo.scope/payload')).to.deep.equal(
      { unit: 'machine-foo.scope', cgroupPath: '/machine.slice/machine-foo.scope', subgroup: 'payload' });
    expect(unitFromCgroupPath('/a.slice/a-b.slice/x.service/sub/deeper')).to.deep.equal(
      { unit: 'x.service', cgroupPath: '/a.slice/a-b.slice/x.service', subgroup: 'sub/deeper' });
    expect(unitFromCgroupPath('/init.scope')).to.deep.equal({ unit: 'init.scope', cgroupPath: '/init.scope', subgroup: '' });
  });

  it('unescapes the unit but keeps the escaped path', () => {
    expect(unitFromCgroupPath('/_memory.slice/_cpu.scope')).to.deep.equal(
      { unit: 'cpu.scope', cgroupPath: '/_memory.slice/_cpu.scope', subgroup: '' });
  });

  it('is null in the root, in slices only, or on a non-unit component', () => {
    expect(unitFromCgroupPath('/')).to.equal(null);
    expect(unitFromCgroupPath('')).to.equal(null);
    expect(unitFromCgroupPath('/machine.slice')).to.equal(null);
    expect(unitFromCgroupPath('/user.slice/user-1000.slice')).to.equal(null);
    expect(unitFromCgroupPath('/payload')).to.equal(null);
    expect(unitFromCgroupPath('/process_api/0244')).to.equal(null);
    expect(unitFromCgroupPath('/machine.slice/notaunit')).to.equal(null);
  });
});

describe('assertCgroupPath', () => {
  it('accepts absolute normalized paths', () => {
    assertCgroupPath('/');
    assertCgroupPath('/machine.slice/machine-x.scope/payload');
  });
  for (const bad of ['', 'machine.slice', '/machine.slice/', '/a//b', '/a/../b', '/a/./b', '/..']) {
    it(`refuses ${JSON.stringify(bad)}`, () => expect(() => assertCgroupPath(bad)).to.throw(/Invalid cgroup path/));
  }
});
