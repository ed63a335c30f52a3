/**
 * ptyfwd: joins our terminal to the PTY master machine1 handed us. Our stdin goes to the master
 * (the local terminal in raw mode, so ^C, ^Z and friends reach the remote program), the master's
 * output to our stdout, our window size to the PTY. It ends on EIO / hangup of the master (every
 * slave closed: the remote program is gone), on three ^] within a second, or when stop() is called
 * (the machine went away).
 *
 * Node cannot poll an arbitrary descriptor, and a blocking fs.read() in libuv's thread pool would
 * keep the process from exiting (process.exit() joins the pool's threads). So two `cat` processes
 * carry the bytes: one reads the master into a pipe we read, one writes what we send into the
 * master; both go when the session ends. The window size is set with `stty rows R cols C` run on
 * the master, which is what a terminal emulator's TIOCSWINSZ on its master does. No native code,
 * and it works the same with the master a real systemd-machined sends.
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { EscapeDetector } from './escape-detector.js';
import type { ExitMarkerFilter } from './exit-marker.js';

export type ForwardEnd = 'hangup' | 'escape' | 'stopped';

export interface ForwardOptions {
  master: number;
  /**
   * login: getty hangs the terminal up once (vhangup) before it prompts; a hangup before anything
   * was read is waited out (upstream's PTY_FORWARD_IGNORE_VHANGUP).
   */
  ignoreInitialHangup?: boolean;
  /** Takes `shell --wait`'s exit marker out of the output. */
  filter?: ExitMarkerFilter;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

const HANGUP_RETRY_MS = 100;
const HANGUP_PATIENCE_MS = 10_000;

export class PtyForward {
  readonly done: Promise<ForwardEnd>;
  /** The last byte written to our stdout (upstream ends the session on a fresh line). */
  lastByte: number | undefined;
  private finish!: (how: ForwardEnd) => void;
  private ended = false;
  private readSomething = false;
  private hangupSince: number | undefined;
  private reader: ChildProcess | undefined;
  private writer: ChildProcess | undefined;
  private readonly escape = new EscapeDetector();
  private readonly stdin: NodeJS.ReadStream;
  private readonly stdout: NodeJS.WriteStream;
  private rawMode = false;
  private readonly onResize = () => this.resize();
  private readonly onInput = (chunk: Buffer) => this.input(chunk);

  constructor(private readonly opts: ForwardOptions) {
    this.opts = { ...opts };
    this.stdin = opts.stdin ?? process.stdin;
    this.stdout = opts.stdout ?? process.stdout;
    this.done = new Promise((resolve) => {
      this.finish = (how) => {
        if (this.ended) return;
        this.ended = true;
        this.cleanup();
        resolve(how);
      };
    });
  }

  start(): void {
    if (this.stdin.isTTY) {
      this.stdin.setRawMode(true);
      this.rawMode = true;
    }
    this.stdin.on('data', this.onInput);
    this.stdin.resume();
    if (this.stdout.isTTY) {
      this.resize(true);
      this.stdout.on('resize', this.onResize);
    }
    this.readMaster();
  }

  stop(): void {
    this.finish('stopped');
  }

  /** From now on a hangup ends the session, even one before any output (the machine is gone). */
  honourHangup(): void {
    this.opts.ignoreInitialHangup = false;
  }

  private cleanup(): void {
    this.reader?.kill('SIGKILL');
    this.writer?.kill('SIGKILL');
    this.stdin.off('data', this.onInput);
    this.stdin.pause();
    if (this.rawMode) this.stdin.setRawMode(false);
    this.stdout.off('resize', this.onResize);
    const rest = this.opts.filter?.flush();
    if (rest) this.output(Buffer.from(rest, 'latin1'));
  }

  /**
   * The first time synchronously, so the size is set before any input of ours reaches the remote
   * program (as upstream sets it before its event loop); later changes need not wait.
   */
  private resize(initial = false): void {
    const { columns, rows } = this.stdout;
    if (!columns || !rows) return;
    const args = ['rows', String(rows), 'cols', String(columns)];
    const stdio: StdioOptions = [this.opts.master, 'ignore', 'ignore'];
    // No stty: the remote side keeps its default size.
    if (initial) spawnSync('stty', args, { stdio, timeout: 5000 });
    else spawn('stty', args, { stdio }).on('error', () => {});
  }

  private input(chunk: Buffer): void {
    if (this.ended) return;
    if (this.escape.feed(chunk)) return this.finish('escape');
    this.writer ??= this.spawnWriter();
    this.writer.stdin!.write(chunk);
  }

  private spawnWriter(): ChildProcess {
    const w = spawn('cat', [], { stdio: ['pipe', this.opts.master, 'ignore'] });
    w.stdin!.on('error', () => {
      // The master is gone; the reader notices the end.
    });
    w.on('error', () => {});
    return w;
  }

  private output(buf: Buffer): void {
    let out = buf;
    if (this.opts.filter && !this.ended) out = Buffer.from(this.opts.filter.push(buf.toString('latin1')), 'latin1');
    if (out.length === 0) return;
    this.lastByte = out[out.length - 1];
    this.stdout.write(out);
  }

  private readMaster(): void {
    if (this.ended) return;
    const r = spawn('cat', [], { stdio: [this.opts.master, 'pipe', 'ignore'] });
    this.reader = r;
    r.stdout!.on('data', (b: Buffer) => {
      if (this.ended) return;
      this.readSomething = true;
      this.output(b);
    });
    r.on('error', () => this.finish('hangup'));
    // cat ends on EIO: every slave is closed (or getty's vhangup, which login waits out).
    r.on('close', () => {
      if (this.ended) return;
      if (this.opts.ignoreInitialHangup && !this.readSomething) {
        this.hangupSince ??= Date.now();
        if (Date.now() - this.hangupSince < HANGUP_PATIENCE_MS) {
          setTimeout(() => this.readMaster(), HANGUP_RETRY_MS);
          return;
        }
      }
      this.finish('hangup');
    });
  }
}
