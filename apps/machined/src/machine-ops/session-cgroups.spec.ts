import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { CgroupLayout } from '@machined/cgroup';
import { sessionCgroupProcs } from './session-cgroups.js';

describe('the cgroups a session joins', () => {
  const layout: CgroupLayout = { hierarchy: 'hybrid', root: '/R', unified: '/R/unified', systemd: '/R/systemd', controllers: { memory: '/R/memory' } };

  it("are the leader's own, in cgroup2 and name=systemd only", () => {
    const lines = readFileSync(`/proc/${process.pid}/cgroup`, 'utf8').split('\n');
    const expected: string[] = [];
    for (const line of lines) {
      const [id, controllers, path] = [line.split(':')[0], line.split(':')[1], line.split(':').slice(2).join(':')];
      if (path === undefined || path.split('/').includes('..')) continue;
      if (id === '0' && controllers === '') expected.push(`/R/unified${path === '/' ? '' : path}/cgroup.procs`);
      if (controllers?.split(',').includes('name=systemd')) expected.push(`/R/systemd${path === '/' ? '' : path}/cgroup.procs`);
    }
    expect(sessionCgroupProcs(process.pid, layout)).to.have.members(expected);
    expect(sessionCgroupProcs(process.pid, layout).every((f) => !f.startsWith('/R/memory'))).to.equal(true);
  });

  it('are none for a leader that is gone', () => {
    expect(sessionCgroupProcs(0x7ffffff0, layout)).to.deep.equal([]);
  });
});
