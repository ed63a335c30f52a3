/**
 * The unix socket the NSS module asks (mode 0666: every program resolves host names). One request
 * per connection; the answer is written and the connection ended at once. A client that sends
 * nothing is dropped after a second or so, so a stuck program cannot pile up connections.
 *
 * The socket appears atomically: bound under a temporary name, made 0666, then renamed over the
 * final path, so a client never meets a socket of the wrong mode or a half-set-up one, and a stale
 * socket left by a killed predecessor is replaced. A live nss-helper on the same path is not.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import { dirname, join, basename } from 'node:path';
import type { Logger } from '@machined/protocol';
import type { AddressBook } from '../addresses/address-book.js';
import { MAX_REQUEST, RequestError, encodeHostsAnswer, encodeHostsError, parseHostsRequest } from './hosts-protocol.js';

export class HostsServer {
  private readonly server: net.Server;
  private listening = false;
  /** Open connections and when they came; a sweep drops those older than a second. */
  private readonly sockets = new Map<net.Socket, number>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly path: string,
    private readonly book: AddressBook,
    private readonly log: Logger,
  ) {
    this.server = net.createServer({ allowHalfOpen: false }, (s) => this.serve(s));
  }

  async listen(): Promise<void> {
    if (await answers(this.path)) throw new Error(`${this.path} is served by a running process (another nss-helper?)`);
    await fs.mkdir(dirname(this.path), { recursive: true, mode: 0o755 });
    const tmp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}`);
    await fs.rm(tmp, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ path: tmp, backlog: 1024 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    await fs.chmod(tmp, 0o666);
    await fs.rename(tmp, this.path);
    this.listening = true;
    // One timer for all connections: a timer per connection costs more than the look-up itself.
    this.sweeper = setInterval(() => {
      const old = Date.now() - 1000;
      for (const [s, since] of this.sockets) if (since < old) s.destroy();
    }, 500);
    this.sweeper.unref();
    this.server.on('error', (e) => this.log.error(`Host look-up socket ${this.path}: ${e.message}`));
  }

  private serve(s: net.Socket): void {
    this.sockets.set(s, Date.now());
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => {}); // a client that went away; nothing to tell anyone
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_REQUEST) finish(encodeHostsError('request too long'));
        return;
      }
      s.off('data', onData);
      let answer;
      try {
        const req = parseHostsRequest(buf.slice(0, nl));
        answer = this.book.lookup(req.name, req.family);
      } catch (e) {
        if (!(e instanceof RequestError)) this.log.error(`Host look-up failed (a bug): ${(e as Error).stack}`);
        finish(encodeHostsError((e as Error).message));
        return;
      }
      if (answer instanceof Promise) answer.then((r) => finish(encodeHostsAnswer(r)), (e: Error) => finish(encodeHostsError(e.message)));
      else finish(encodeHostsAnswer(answer));
    };
    const finish = (text: string) => {
      if (!s.destroyed) s.end(text);
    };
    s.on('data', onData);
  }

  async close(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    if (this.sweeper) clearInterval(this.sweeper);
    // Unlink first: from now on clients get "no such file" (UNAVAIL) at once, not a hang.
    await fs.rm(this.path, { force: true });
    for (const s of this.sockets.keys()) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Whether something accepts connections on that unix socket path. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
