/**
 * The published host table: the fast path of libnss_machines.so.2. Every answer nss-helper would
 * give over the socket, written as one file beside it (`hosts.sock` → `hosts.table`) and
 * rewritten atomically (temporary file + rename) on every change, so a look-up is a file read in
 * the calling program, as `files` does with /etc/hosts, with no round trip to this process.
 *
 * A table must never outlive its writer: a killed nss-helper would leave addresses of containers
 * long gone. So the module reads it only while `<table>.lock` is flock'ed exclusively, by
 * native/nss-table-lock, a child that holds the lock until nss-helper's end closes its stdin
 * (Node cannot take flock locks itself). Until the table is synced with machined there is no
 * file, and the module asks the socket (which says UNAVAIL).
 *
 * Format (see native/libnss_machines.c): "machines-hosts 1\n", then per container
 * "= <lowercase name> <scopeid> <count>\n" and count lines "4 <addr>\n" / "6 <addr>\n", or
 * "? <lowercase name>\n" while its addresses are being read (the module asks the socket, which
 * waits for them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import type { Logger } from '@machined/protocol';
import type { AddressBook } from '../addresses/address-book.js';
import { MAX_ANSWER_ADDRESSES } from './hosts-protocol.js';

export const TABLE_HEADER = 'machines-hosts 1\n';

/** Where the module looks for the table and its lock, given the socket (keep in step with the C). */
export function tablePaths(socket: string): { table: string; lock: string } {
  const base = socket.endsWith('.sock') && socket.length > 5 ? socket.slice(0, -5) : socket;
  return { table: `${base}.table`, lock: `${base}.table.lock` };
}

export function encodeHostsTable(book: Pick<AddressBook, 'snapshot'>): string {
  const parts = [TABLE_HEADER];
  for (const { key, result } of book.snapshot()) {
    if (result === 'pending') parts.push(`? ${key}\n`);
    else if (result.kind === 'ok') {
      const list = result.addresses.slice(0, MAX_ANSWER_ADDRESSES);
      parts.push(`= ${key} ${result.scopeid} ${list.length}\n`, ...list.map((a) => `${a.family} ${a.address}\n`));
    } else if (result.kind === 'tryagain') parts.push(`? ${key}\n`);
    // notfound: left out, the module says NOTFOUND for names it does not find.
  }
  return parts.join('');
}

export class HostsTable {
  private readonly paths: { table: string; lock: string };
  private locker: ChildProcess | null = null;
  private lockerExited: Promise<void> = Promise.resolve();
  private writing: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private scheduled = false;

  constructor(
    socket: string,
    private readonly book: AddressBook,
    /** The nss-table-lock program (dist/libexec/nss-table-lock). */
    private readonly lockProgram: string,
    private readonly log: Logger,
  ) {
    this.paths = tablePaths(socket);
  }

  get tablePath(): string {
    return this.paths.table;
  }

  /** Takes the lock, then publishes the table whenever the answers change. */
  async start(): Promise<void> {
    await fs.rm(this.paths.table, { force: true });
    const child = spawn(this.lockProgram, [this.paths.lock], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.locker = child;
    this.lockerExited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stdin!.on('error', () => {}); // EPIPE if it is already gone: nothing left to release
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    await new Promise<void>((resolve, reject) => {
      child.once('error', (e) => reject(new Error(`cannot start ${this.lockProgram}: ${e.message}`)));
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`${this.lockProgram} exited (status ${code}): ${stderr.trim()}`)));
    });
    child.on('exit', () => {
      if (this.closed) return;
      // Without the lock the module ignores the table anyway; take it away and use the socket.
      this.log.error(`The host table lock holder exited (${stderr.trim() || 'no message'}); look-ups go over the socket from now on.`);
      this.locker = null;
      this.closed = true;
      void fs.rm(this.paths.table, { force: true });
    });
    this.book.on('changed', () => this.schedule());
    this.schedule();
  }

  /** Coalesces a burst of changes into one write; one write at a time, one more after it if needed. */
  private schedule(): void {
    if (this.closed || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.writing) {
        this.again = true;
        return;
      }
      this.writing = this.write().finally(() => {
        this.writing = null;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
    });
  }

  private async write(): Promise<void> {
    if (this.closed || !this.book.synced) return;
    const tmp = `${this.paths.table}.${process.pid}.tmp`;
    try {
      await fs.writeFile(tmp, encodeHostsTable(this.book), { mode: 0o644 });
      await fs.chmod(tmp, 0o644); // whatever the umask: every program reads it
      if (this.closed) await fs.rm(tmp, { force: true });
      else await fs.rename(tmp, this.paths.table);
    } catch (e) {
      this.log.error(`Cannot publish the host table ${this.paths.table}: ${(e as Error).message}; look-ups go over the socket.`);
      await fs.rm(tmp, { force: true }).catch(() => {});
      await fs.rm(this.paths.table, { force: true }).catch(() => {});
    }
  }

  /** Removes the table first (the module then asks the socket), then lets the lock go. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
    await fs.rm(this.paths.table, { force: true });
    const locker = this.locker;
    this.locker = null;
    if (locker) {
      locker.stdin!.end();
      await this.lockerExited;
    }
    await fs.rm(this.paths.lock, { force: true });
  }
}
