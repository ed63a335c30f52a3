import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyScopeProperties } from './scope-properties.js';
import type { ScopeSpec } from './scope-backend.js';

describe('applyScopeProperties (on plain files)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cgroup-props-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const read = (file: string): Promise<string> => readFile(join(dir, file), 'utf8');

  it('writes machined\'s default TasksMax when the caller sets none', async () => {
    await writeFile(join(dir, 'pids.max'), 'max\n');
    expect(await applyScopeProperties(dir, [])).to.deep.equal({ applied: ['pids.max'], refused: [] });
    expect(await read('pids.max')).to.equal('16384');
  });

  it('maps TasksMax, MemoryMax and CPUWeight; UINT64_MAX is max', async () => {
    for (const file of ['pids.max', 'memory.max', 'cpu.weight']) await writeFile(join(dir, file), '');
    await applyScopeProperties(dir, [
      ['TasksMax', 't', 2n ** 64n - 1n],
      ['MemoryMax', 't', 1048576n],
      ['CPUWeight', 't', 50],
    ]);
    expect(await read('pids.max')).to.equal('max');
    expect(await read('memory.max')).to.equal('1048576');
    expect(await read('cpu.weight')).to.equal('50');
  });

  it('skips files the controller does not provide', async () => {
    expect(await applyScopeProperties(dir, [['MemoryMax', 't', 1n]])).to.deep.equal({ applied: [], refused: [] });
  });

  it('survives any value shape and ignores unknown properties', async () => {
    for (const file of ['pids.max', 'memory.max', 'cpu.weight']) await writeFile(join(dir, file), 'untouched');
    const odd = [
      ['TasksMax', 't', { value: 3 }], ['TasksMax', 's', 'lots'], ['TasksMax', 't', -1], ['TasksMax', 't', 1.5],
      ['MemoryMax', 't', null], ['MemoryMax', 't', 2n ** 70n], ['CPUWeight', 't', 0n], ['CPUWeight', 't', 2n ** 64n - 1n],
      ['DeviceAllow', 'a(ss)', [['/dev/net/tun', 'rwm']]], null, 'garbage', [],
    ] as unknown as ScopeSpec['properties'];
    await applyScopeProperties(dir, odd);
    expect(await read('pids.max')).to.equal('16384');
    expect(await read('memory.max')).to.equal('untouched');
    expect(await read('cpu.weight')).to.equal('untouched');
  });
});
