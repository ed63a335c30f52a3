import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@machined/protocol';
import type { AddressBook, LookupResult } from '../addresses/address-book.js';
import { HostsTable, TABLE_HEADER, encodeHostsTable, tablePaths } from './hosts-table.js';

type Entry = { key: string; result: LookupResult | 'pending' };

class FakeBook extends EventEmitter<{ changed: [] }> {
  synced = true;
  entries: Entry[] = [];
  snapshot(): Entry[] {
    return this.entries;
  }
}

const ok = (...addresses: string[]): LookupResult => ({
  kind: 'ok',
  scopeid: 0,
  addresses: addresses.map((address) => ({ family: address.includes(':') ? 6 : 4, address })),
});

describe('published host table', () => {
  it('sits beside the socket, where the NSS module looks', () => {
    expect(tablePaths('/run/machined-nss/hosts.sock')).to.deep.equal({ table: '/run/machined-nss/hosts.table', lock: '/run/machined-nss/hosts.table.lock' });
    expect(tablePaths('/tmp/x')).to.deep.equal({ table: '/tmp/x.table', lock: '/tmp/x.table.lock' });
  });

  it('lists containers with addresses, marks those being read, leaves out the rest', () => {
    const book = new FakeBook();
    book.entries = [
      { key: 'web', result: ok('10.0.0.2', 'fd00::2') },
      { key: 'new', result: 'pending' },
      { key: 'flaky', result: { kind: 'tryagain' } },
      { key: 'hostnet', result: { kind: 'notfound' } },
    ];
    expect(encodeHostsTable(book)).to.equal(`${TABLE_HEADER}= web 0 2\n4 10.0.0.2\n6 fd00::2\n? new\n? flaky\n`);
    book.entries = [];
    expect(encodeHostsTable(book)).to.equal(TABLE_HEADER);
  });

  describe('lifecycle (with native/nss-table-lock built here)', function () {
    this.timeout(20000);
    const dir = mkdtempSync(join(tmpdir(), 'nss-table-spec-'));
    const lockProgram = join(dir, 'nss-table-lock');
    const socket = join(dir, 'hosts.sock');
    const { table, lock } = tablePaths(socket);
    const log = createLogger('error');
    before(() => {
      const src = fileURLToPath(new URL('../../native/nss-table-lock.c', import.meta.url));
      execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-D_GNU_SOURCE', '-o', lockProgram, src]);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const lockedByOther = () => spawnSync('flock', ['-n', '-s', lock, 'true']).status !== 0;
    const until = async (what: string, fn: () => boolean) => {
      for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(fn(), what).to.equal(true);
    };

    it('holds the lock while it runs, rewrites the table on changes, and removes both on close', async () => {
      const book = new FakeBook();
      book.entries = [{ key: 'a', result: ok('10.1.1.1') }];
      const t = new HostsTable(socket, book as unknown as AddressBook, lockProgram, log);
      await t.start();
      expect(lockedByOther(), 'lock held').to.equal(true);
      await until('the first table', () => existsSync(table) && readFileSync(table, 'utf8').includes('= a 0 1'));
      book.entries = [{ key: 'b', result: ok('10.2.2.2') }];
      book.emit('changed');
      await until('the new table', () => readFileSync(table, 'utf8') === `${TABLE_HEADER}= b 0 1\n4 10.2.2.2\n`);
      await t.close();
      expect(existsSync(table)).to.equal(false);
      expect(existsSync(lock)).to.equal(false);
    });

    it('publishes nothing before the first sync with machined', async () => {
      const book = new FakeBook();
      book.synced = false;
      const t = new HostsTable(socket, book as unknown as AddressBook, lockProgram, log);
      await t.start();
      book.emit('changed');
      await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(table)).to.equal(false);
      book.synced = true;
      book.emit('changed');
      await until('the table after the sync', () => existsSync(table));
      await t.close();
    });

    it('refuses to start when another process holds the lock', async () => {
      const first = new HostsTable(socket, new FakeBook() as unknown as AddressBook, lockProgram, log);
      await first.start();
      const second = new HostsTable(socket, new FakeBook() as unknown as AddressBook, lockProgram, log);
      let err: Error | undefined;
      await second.start().catch((e: Error) => (err = e));
      expect(err?.message).to.match(/another process holds it/);
      await first.close();
    });
  });
});
