import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { ContainerAccounts } from './container-accounts.js';
import { type IdRange, parseIdMap } from './id-map.js';
import type { MachineSource, SourceMachine } from './machine-source.js';

class FakeTable extends EventEmitter implements MachineSource {
  machines: SourceMachine[] = [];
  list(): SourceMachine[] {
    return this.machines;
  }
  set(machines: SourceMachine[]): void {
    this.machines = machines;
    this.emit('changed');
  }
}

function setup(maps: Record<number, string>) {
  const table = new FakeTable();
  const reads: string[] = [];
  const accounts = new ContainerAccounts(table, (pid, kind): IdRange[] | null => {
    reads.push(`${pid}:${kind}`);
    return pid in maps ? parseIdMap(maps[pid]!) : null;
  });
  return { table, accounts, reads };
}

describe('container accounts', () => {
  it('names host IDs after the container that owns them, and resolves those names back', () => {
    const { table, accounts } = setup({ 10: '0 200000 65536\n', 11: '0 300000 65536\n' });
    table.set([{ name: 'a-b', leader: 10 }, { name: 'other', leader: 11, class: 'container' }]);
    expect(accounts.byId('user', 200000)).to.deep.equal({ kind: 'user', name: 'vu-a-b-0', id: 200000, comment: 'UID 0 of Container a-b' });
    expect(accounts.byId('group', 300005)).to.deep.equal({ kind: 'group', name: 'vg-other-5', id: 300005, comment: 'GID 5 of Container other' });
    expect(accounts.byName('user', 'vu-a-b-1000')).to.deep.equal({ kind: 'user', name: 'vu-a-b-1000', id: 201000, comment: 'UID 1000 of Container a-b' });
    expect(accounts.byName('group', 'vg-other-65534')).to.deep.include({ id: 365534 });
  });

  it('finds nothing in the host range, outside every map, or for unknown machines', () => {
    const { table, accounts } = setup({ 10: '0 200000 65536\n' });
    table.set([{ name: 'foo', leader: 10 }]);
    expect(accounts.byId('user', 1000)).to.equal(null);
    expect(accounts.byId('user', 65535 + 200001)).to.equal(null);
    expect(accounts.byName('user', 'vu-foo-65536')).to.equal(null);
    expect(accounts.byName('user', 'vu-bar-0')).to.equal(null);
    expect(accounts.byName('user', 'vg-foo-0')).to.equal(null);
    expect(accounts.byName('group', 'vu-foo-0')).to.equal(null);
  });

  it('gives no IDs to containers without their own user namespace, to VMs, or to dead leaders', () => {
    const { table, accounts } = setup({ 10: '0 0 4294967295\n', 11: '0 200000 65536\n' });
    table.set([
      { name: 'plain', leader: 10 },
      { name: 'vm', leader: 11, class: 'vm' },
      { name: 'dead', leader: 12 },
    ]);
    // Upstream would name host root `vu-plain-0` here; it must not exist.
    expect(accounts.byName('user', 'vu-plain-0')).to.equal(null);
    expect(accounts.byId('user', 200000)).to.equal(null);
    expect(accounts.byName('user', 'vu-vm-0')).to.equal(null);
    expect(accounts.byName('user', 'vu-dead-0')).to.equal(null);
  });

  it('does not synthesize names that would be invalid (too long, dots)', () => {
    const { table, accounts } = setup({ 10: '0 200000 65536\n', 11: '0 300000 65536\n' });
    table.set([
      { name: 'x'.repeat(26), leader: 10 },
      { name: 'a.b', leader: 11 },
    ]);
    expect(accounts.byId('user', 200000)).to.deep.include({ name: `vu-${'x'.repeat(26)}-0` });
    expect(accounts.byId('user', 201000)).to.equal(null); // vu-xxx…-1000 is 33 characters
    expect(accounts.byId('user', 300000)).to.equal(null);
  });

  it('forgets cached maps when the table changes, so a departed machine owns nothing', () => {
    const maps: Record<number, string> = { 10: '0 200000 65536\n' };
    const { table, accounts, reads } = setup(maps);
    table.set([{ name: 'foo', leader: 10 }]);
    expect(accounts.byName('user', 'vu-foo-0')).to.not.equal(null);
    expect(accounts.byId('user', 200001)).to.not.equal(null);
    expect(reads).to.deep.equal(['10:uid']);
    table.set([]);
    expect(accounts.byName('user', 'vu-foo-0')).to.equal(null);
    expect(accounts.byId('user', 200000)).to.equal(null);
    // The same PID reused by a new container with another map is read afresh.
    maps[10] = '0 500000 65536\n';
    table.set([{ name: 'bar', leader: 10 }]);
    expect(accounts.byId('user', 500000)).to.deep.include({ name: 'vu-bar-0' });
  });

  it('does not keep an empty map: the namespace may not be set up yet', () => {
    const maps: Record<number, string> = { 10: '' };
    const { table, accounts } = setup(maps);
    table.set([{ name: 'foo', leader: 10 }]);
    expect(accounts.byName('user', 'vu-foo-0')).to.equal(null);
    maps[10] = '0 200000 65536\n';
    expect(accounts.byName('user', 'vu-foo-0')).to.deep.include({ id: 200000 });
  });
});
