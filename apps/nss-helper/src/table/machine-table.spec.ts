import { expect } from 'chai';
import type { MachineRecord } from '@machined/protocol';
import { MachineTable } from './machine-table.js';

const rec = (name: string, leader = 100, extra: Partial<MachineRecord> = {}): MachineRecord => ({
  name,
  class: 'container',
  service: 'test',
  unit: `machine-${name}.scope`,
  leader,
  rootDirectory: '',
  id: '',
  networkInterfaces: [],
  timestamp: '1',
  state: 'running',
  ...extra,
});

describe('MachineTable', () => {
  it('knows nothing and asks for a snapshot before the first one', () => {
    const t = new MachineTable();
    expect(t.synced).to.equal(false);
    expect(t.applyEvent({ v: 1, type: 'machine.new', seq: 1, machine: rec('a') })).to.equal('resync');
    expect(t.list()).to.deep.equal([]);
  });

  it('drops events the snapshot already holds, applies the next ones in line', () => {
    const t = new MachineTable();
    t.applySnapshot({ seq: 5, machines: [rec('a')] });
    expect(t.applyEvent({ v: 1, type: 'machine.new', seq: 4, machine: rec('old') })).to.equal('stale');
    expect(t.applyEvent({ v: 1, type: 'machine.removed', seq: 5, name: 'a' })).to.equal('stale');
    expect(t.get('a')).to.not.equal(undefined);
    expect(t.applyEvent({ v: 1, type: 'machine.new', seq: 6, machine: rec('b') })).to.equal('applied');
    expect(t.applyEvent({ v: 1, type: 'machine.removed', seq: 7, name: 'a' })).to.equal('applied');
    expect(t.list().map((m) => m.name)).to.deep.equal(['b']);
    expect(t.lastSeq).to.equal(7);
  });

  it('asks for a re-sync on a gap in the numbers, and on numbers starting over (machined restarted)', () => {
    const t = new MachineTable();
    t.applySnapshot({ seq: 0, machines: [] });
    expect(t.applyEvent({ v: 1, type: 'machine.new', seq: 1, machine: rec('a') })).to.equal('applied');
    expect(t.applyEvent({ v: 1, type: 'machine.new', seq: 3, machine: rec('c') })).to.equal('resync');
    expect(t.get('c')).to.equal(undefined);
    expect(t.applyEvent({ v: 1, type: 'machine.new', seq: 1, machine: rec('x') })).to.equal('resync');
    // The new snapshot is the truth: what it lacks goes, what it has comes.
    t.applySnapshot({ seq: 1, machines: [rec('x')] });
    expect(t.list().map((m) => m.name)).to.deep.equal(['x']);
    expect(t.applyEvent({ v: 1, type: 'machine.new', seq: 2, machine: rec('y') })).to.equal('applied');
  });

  it('announces only real differences, per machine and as a whole', () => {
    const t = new MachineTable();
    const seen: string[] = [];
    let changed = 0;
    t.on('machine', (name, before, after) => seen.push(`${name}:${before ? 'had' : '-'}:${after ? 'has' : '-'}`));
    t.on('changed', () => changed++);
    t.applySnapshot({ seq: 1, machines: [rec('a'), rec('b')] });
    expect(seen.sort()).to.deep.equal(['a:-:has', 'b:-:has']);
    seen.length = 0;
    t.applySnapshot({ seq: 2, machines: [rec('a'), rec('b', 200)] });
    expect(seen).to.deep.equal(['b:had:has']);
    seen.length = 0;
    t.applySnapshot({ seq: 3, machines: [rec('a'), rec('b', 200)] });
    expect(seen).to.deep.equal([]);
    expect(changed).to.equal(2);
    t.applyEvent({ v: 1, type: 'machine.changed', seq: 4, machine: rec('a') });
    expect(changed).to.equal(2);
    t.applyEvent({ v: 1, type: 'machine.changed', seq: 5, machine: rec('a', 100, { state: 'closing' }) });
    expect(changed).to.equal(3);
  });

  it('finds names case-insensitively, as host names', () => {
    const t = new MachineTable();
    t.applySnapshot({ seq: 1, machines: [rec('MyBox')] });
    expect(t.get('mybox')?.name).to.equal('MyBox');
    expect(t.get('MYBOX')?.name).to.equal('MyBox');
    t.applyEvent({ v: 1, type: 'machine.removed', seq: 2, name: 'MyBox' });
    expect(t.get('mybox')).to.equal(undefined);
  });

  it('serves the userdb side: list() gives names and leaders', () => {
    const t = new MachineTable();
    t.applySnapshot({ seq: 1, machines: [rec('a', 42)] });
    expect(t.list().map(({ name, leader }) => ({ name, leader }))).to.deep.equal([{ name: 'a', leader: 42 }]);
  });
});
