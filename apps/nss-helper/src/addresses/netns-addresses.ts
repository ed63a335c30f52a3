/**
 * The addresses inside one container's network namespace, kept current: `ip monitor address` runs
 * in the namespace (through nsenter, so nss-helper itself never changes namespace) and every line
 * it prints, i.e. every address added or removed there, triggers a fresh `ip -json address show`
 * in the namespace. Dumps never overlap: a change during one makes one more run after it. A
 * look-up reads the cached list, so it costs no process at all.
 *
 * A machine that shares our network namespace has no addresses of its own (upstream's
 * GetMachineAddresses says NoPrivateNetworking; a host look-up says NOTFOUND), and neither has one
 * whose leader is gone.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import type { Logger } from '@machined/protocol';
import { addressesFromIpJson, type HostAddress } from './ip-address-json.js';

export type AddressState =
  | { kind: 'pending' }
  | { kind: 'known'; addresses: HostAddress[] }
  /** No addresses of its own: no private namespace, or the leader is gone. */
  | { kind: 'none'; why: string }
  /** The namespace is there but could not be read (and nothing was read before). */
  | { kind: 'failed'; why: string };

export interface NetnsAddressesOptions {
  /** The /proc to read (tests point it elsewhere only to fake a missing leader). */
  proc?: string;
  /** Re-reads after the monitor starts, for a change made before it listened (default 300 ms). */
  settleMs?: number;
}

export class NetnsAddresses extends EventEmitter<{ updated: [] }> {
  state: AddressState = { kind: 'pending' };
  private monitor: ChildProcess | null = null;
  private dumping = false;
  private dirty = false;
  private closed = false;
  private readonly nsPath: string;
  private settleTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly leader: number,
    private readonly label: string,
    private readonly log: Logger,
    private readonly options: NetnsAddressesOptions = {},
  ) {
    super();
    this.nsPath = `${options.proc ?? '/proc'}/${leader}/ns/net`;
  }

  start(): void {
    const own = namespaceInode('/proc/self/ns/net');
    const theirs = namespaceInode(this.nsPath);
    if (theirs === null) return this.settle({ kind: 'none', why: `${this.nsPath} cannot be opened (leader gone?)` });
    if (theirs === own) return this.settle({ kind: 'none', why: 'no private network namespace' });
    this.startMonitor();
    this.refresh();
    this.settleTimer = setTimeout(() => this.refresh(), this.options.settleMs ?? 300);
    this.settleTimer.unref();
  }

  /** Resolves once the first read has finished (at most after timeoutMs). */
  whenKnown(timeoutMs: number): Promise<void> {
    if (this.state.kind !== 'pending') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.off('updated', done);
        resolve();
      }
      this.on('updated', done);
    });
  }

  private startMonitor(): void {
    // setpriv --pdeathsig: a monitor must not outlive a killed nss-helper (it would hold the
    // container's network namespace alive for nothing).
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'nsenter', `--net=${this.nsPath}`, '--', 'ip', 'monitor', 'address'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.monitor = child;
    let stderr = '';
    child.stdout!.on('data', () => this.refresh());
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    child.on('error', (e) => this.log.warning(`Cannot watch the addresses of ${this.label}: ${e.message}`));
    child.on('close', (code, signal) => {
      if (this.closed || this.monitor !== child) return;
      this.monitor = null;
      if (namespaceInode(this.nsPath) === null) {
        this.settle({ kind: 'none', why: 'leader gone' });
        return;
      }
      // Still there: a monitor that died on its own (killed by someone) is started again.
      this.log.warning(`Address monitor of ${this.label} exited (${signal ?? `status ${code}`}: ${stderr.trim()}); restarting it.`);
      setTimeout(() => {
        if (!this.closed) {
          this.startMonitor();
          this.refresh();
        }
      }, 1000).unref();
    });
  }

  /** Reads the namespace's addresses again (coalesced: at most one read runs, one more queued). */
  refresh(): void {
    if (this.closed) return;
    if (this.dumping) {
      this.dirty = true;
      return;
    }
    this.dumping = true;
    this.dirty = false;
    execFile('nsenter', [`--net=${this.nsPath}`, '--', 'ip', '-json', 'address', 'show'], { timeout: 5000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      this.dumping = false;
      if (this.closed) return;
      if (err) {
        if (namespaceInode(this.nsPath) === null) this.settle({ kind: 'none', why: 'leader gone' });
        else this.readFailed(`Cannot list the addresses of ${this.label}: ${stderr.trim() || err.message}`);
      } else {
        try {
          this.settle({ kind: 'known', addresses: addressesFromIpJson(stdout) });
        } catch (e) {
          this.readFailed(`Cannot read the addresses of ${this.label}: ${(e as Error).message}`);
        }
      }
      if (this.dirty) this.refresh();
    });
  }

  /** Keeps what was read before (a later change triggers a new read); only a first read fails. */
  private readFailed(why: string): void {
    this.log.warning(why);
    if (this.state.kind === 'pending') this.settle({ kind: 'failed', why });
  }

  private settle(state: AddressState): void {
    const changed = JSON.stringify(state) !== JSON.stringify(this.state);
    this.state = state;
    if (state.kind === 'none') this.stopMonitor();
    if (changed) {
      this.log.debug(`Addresses of ${this.label}: ${state.kind === 'known' ? state.addresses.map((a) => a.address).join(' ') || '(none)' : state.kind === 'pending' ? 'pending' : `${state.kind} (${state.why})`}`);
      this.emit('updated');
    }
  }

  private stopMonitor(): void {
    const m = this.monitor;
    this.monitor = null;
    if (m && m.exitCode === null && m.signalCode === null) m.kill('SIGKILL');
  }

  close(): void {
    this.closed = true;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.stopMonitor();
    this.removeAllListeners();
  }
}

function namespaceInode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}
