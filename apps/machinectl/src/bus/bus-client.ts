/**
 * The connection machinectl talks through. It uses dbus-next's connection, authentication,
 * marshalling and Message type directly (lib/connection.js, lib/message-type.js) rather than
 * its MessageBus: MessageBus pulls in the XML introspection and service machinery (xml2js and
 * friends, over 40 % of the bundle) that a client making plain method calls never uses, and
 * costs start-up time on every run. Calls are plain messages, as `bus.call(new Message(…))`
 * sends them (no proxy objects, so no Introspect round trip); sd-bus's 25 s call timeout (none
 * for the slow image operations, as upstream); the allow-interactive-authorization flag unless
 * --no-ask-password; errors turned into the text sd-bus's bus_error_message() gives.
 */
import type { EventEmitter } from 'node:events';
import { CliError } from '../cli/cli-error.js';
import { marshalMethodCall } from './wire.js';
import { busAddressFor, connectFailure, describeAddress } from './address.js';
import type { Transport } from '../cli/options.js';

const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
const CALL_TIMEOUT_MS = 25_000;
const METHOD_CALL = 1;
const METHOD_RETURN = 2;
const ERROR = 3;
const SIGNAL = 4;

export interface CallSpec {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
  /** false: wait as long as it takes (RemoveImage, CloneImage, CleanPool, copies). */
  timeout?: boolean;
}

/** A received message, as dbus-next's Message presents it. */
export interface BusMessage {
  type: number;
  serial: number;
  replySerial?: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  sender?: string;
  signature?: string;
  body: unknown[];
}

interface Connection extends EventEmitter {
  message(msg: unknown): void;
  state?: string;
  stream: { end(): void; write(b: Buffer): boolean; cork?(): void; uncork?(): void };
}

/** A failed call: the D-Bus error name (if any) and the message upstream would print. */
export class CallError extends Error {
  constructor(
    readonly errorName: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

type MessageCtor = new (fields: Record<string, unknown>) => unknown;

export class BusClient {
  private serial = 1;
  private readonly pending = new Map<number, { resolve: (m: BusMessage) => void; reject: (e: Error) => void; deadline: number }>();
  private timer: NodeJS.Timeout | undefined;
  /** Wire messages held back by batch(). */
  private batched: Buffer[] | undefined;
  private failure: Error | undefined;
  private readonly signalListeners = new Set<(m: BusMessage) => void>();
  /** Sends waiting for authentication to finish, in order (Hello first). */
  private queue: Array<() => void> | undefined = [];

  constructor(
    private readonly conn: Connection,
    private readonly Message: MessageCtor,
    private readonly flags: number,
    private readonly describe: string,
  ) {
    conn.on('message', (m: BusMessage) => {
      if (m.type === METHOD_RETURN || m.type === ERROR) {
        const p = this.pending.get(m.replySerial!);
        if (!p) return;
        this.pending.delete(m.replySerial!);
        if (m.type === ERROR) p.reject(new CallError(m.errorName, errorText(m.errorName!, m.body?.[0])));
        else p.resolve(m);
      } else if (m.type === SIGNAL) {
        for (const l of this.signalListeners) l(m);
      }
    });
    conn.once('connect', () => {
      const q = this.queue ?? [];
      this.queue = undefined;
      this.batch(() => q.forEach((send) => send()));
    });
    conn.on('error', (err: NodeJS.ErrnoException) => this.fail(connectFailure(err, this.describe)));
    conn.on('end', () => this.fail(new CliError(`Connection to the bus was closed (${this.describe})`)));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  /**
   * Runs fn, holding back the socket writes of the calls it sends until it returns, so that many
   * calls leave in one write instead of one write each.
   */
  batch<T>(fn: () => T): T {
    if (this.batched) return fn();
    this.batched = [];
    try {
      return fn();
    } finally {
      const chunks = this.batched;
      this.batched = undefined;
      // One buffer, one write: a corked stream would still hand the kernel a writev of 200 pieces.
      if (chunks.length > 0) this.writeWire(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    }
  }

  private writeWire(data: Buffer): void {
    const stream = this.conn.stream as Connection['stream'] & { supportsUnixFd?: boolean; write(b: unknown): boolean };
    // A usocket stream that negotiated descriptor passing takes {data, fds}, as dbus-next writes it.
    if (stream.supportsUnixFd) stream.write({ data, fds: [] });
    else stream.write(data);
  }

  onSignal(listener: (m: BusMessage) => void): void {
    this.signalListeners.add(listener);
  }

  /** Sends a method call and resolves with the reply's body; rejects with a CallError. */
  async call(spec: CallSpec): Promise<unknown[]> {
    const r = await this.tryCall(spec);
    if (r.error) throw r.error;
    return r.body;
  }

  /**
   * The same without throwing: for calls whose failure is expected and ignored (OS release and
   * addresses of every machine in `list`), where a hundred exceptions would cost real time.
   */
  tryCall(spec: CallSpec): Promise<{ body: unknown[]; error?: undefined } | { body?: undefined; error: CallError }> {
    if (this.failure) return Promise.reject(this.failure);
    const serial = this.serial++;
    const fields = {
      serial,
      flags: this.flags,
      destination: spec.destination,
      path: spec.path,
      interface: spec.interface,
      member: spec.member,
      signature: spec.signature ?? '',
      body: spec.body ?? [],
    };
    const reply = new Promise<{ body: unknown[]; error?: undefined } | { body?: undefined; error: CallError }>((resolve, reject) => {
      this.pending.set(serial, {
        resolve: (m) => resolve({ body: m.body ?? [] }),
        reject: (e) => (e instanceof CallError ? resolve({ error: e }) : reject(e)),
        deadline: spec.timeout === false ? Infinity : Date.now() + CALL_TIMEOUT_MS,
      });
    });
    this.armTimer();
    const wire = marshalMethodCall(fields);
    const send = wire
      ? () => (this.batched ? this.batched.push(wire) : this.writeWire(wire))
      : () => {
          // dbus-next writes this one itself; what is batched so far must leave first.
          if (this.batched?.length) this.writeWire(Buffer.concat(this.batched.splice(0)));
          this.conn.message(new this.Message({ type: METHOD_CALL, ...fields }));
        };
    try {
      if (this.queue) this.queue.push(send);
      else send();
    } catch (e) {
      this.pending.delete(serial);
      return Promise.resolve({ error: new CallError(undefined, (e as Error).message) });
    }
    return reply;
  }

  /**
   * One timer for all calls in flight (sd-bus's 25 s per call): a hundred calls do not need a
   * hundred timers. It fires at the earliest deadline and re-arms for the next.
   */
  private armTimer(): void {
    if (this.timer) return;
    let next = Infinity;
    for (const p of this.pending.values()) next = Math.min(next, p.deadline);
    if (next === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = Date.now();
      for (const [serial, p] of this.pending) {
        if (p.deadline <= now) {
          this.pending.delete(serial);
          p.reject(new CallError(undefined, 'Connection timed out'));
        }
      }
      this.armTimer();
    }, Math.max(0, next - Date.now()));
  }

  close(): void {
    try {
      this.conn.stream.end();
    } catch {
      /* already gone */
    }
  }
}

/** Hands CLI-level failures (no bus at all) through; everything else becomes a CallError. */
export function toCallError(e: unknown): CallError {
  if (e instanceof CliError) throw e;
  if (e instanceof CallError) return e;
  return new CallError(undefined, (e as Error)?.message ?? String(e));
}

function errorText(name: string, text: unknown): string {
  return typeof text === 'string' && text.length > 0 ? text : errnoTextFor(name);
}

function errnoTextFor(name: string): string {
  const map: Record<string, string> = {
    'org.freedesktop.DBus.Error.AccessDenied': 'Permission denied',
    'org.freedesktop.DBus.Error.NoMemory': 'Cannot allocate memory',
    'org.freedesktop.DBus.Error.ServiceUnknown': 'Host is down',
    'org.freedesktop.DBus.Error.NameHasNoOwner': 'No such device or address',
    'org.freedesktop.DBus.Error.NoReply': 'Connection timed out',
    'org.freedesktop.DBus.Error.Timeout': 'Connection timed out',
    'org.freedesktop.DBus.Error.UnknownMethod': 'Unknown request code',
    'org.freedesktop.DBus.Error.UnknownObject': 'Unknown request code',
    'org.freedesktop.DBus.Error.InvalidArgs': 'Invalid argument',
    'org.freedesktop.DBus.Error.NotSupported': 'Operation not supported',
    'org.freedesktop.DBus.Error.FileNotFound': 'No such file or directory',
    'org.freedesktop.DBus.Error.FileExists': 'File exists',
  };
  return map[name] ?? 'Input/output error';
}

/**
 * dbus-next parses the signature of every message it reads and writes afresh; `list` at 100
 * machines receives 200 replies of the same two signatures. Its modules take parseSignature
 * from lib/signature.js when they are first loaded, so wrapping the export with a cache before
 * the connection module loads them makes every user share it. The trees are only read.
 */
async function memoizeSignatureParsing(): Promise<void> {
  // @ts-expect-error untyped internal module
  const sig = (await import('dbus-next/lib/signature.js')) as { default?: Record<string, unknown> } & Record<string, unknown>;
  const mod = (sig.default ?? sig) as { parseSignature: (s: string) => unknown; __memoized?: boolean };
  if (mod.__memoized) return;
  const parse = mod.parseSignature;
  const cache = new Map<string, unknown>();
  mod.parseSignature = (s: string) => {
    let t = cache.get(s);
    if (t === undefined) {
      t = parse(s);
      cache.set(s, t);
    }
    return t;
  };
  mod.__memoized = true;
}

/**
 * dbus-next 0.10's `unixexec:` transport (what -H uses) is broken twice: it joins the child's
 * stdin and stdout with event-stream's old-style duplex, which has no read() for dbus-next's
 * reader, and it emits its "connected" event on the event-stream module instead of on that
 * stream, so authentication never starts. It takes both from the module at call time, so a
 * proper node Duplex and a forwarded event make it work.
 */
async function repairUnixexec(): Promise<void> {
  // @ts-expect-error untyped module (a dependency of dbus-next)
  const es = (await import('event-stream')) as { default?: Record<string, unknown> } & Record<string, unknown>;
  const mod = (es.default ?? es) as { duplex: unknown; emit?: (ev: string) => void; __repaired?: boolean };
  if (mod.__repaired) return;
  const { Duplex } = await import('node:stream');
  let last: EventEmitter | undefined;
  mod.duplex = (writable: NodeJS.WritableStream, readable: NodeJS.ReadableStream) => (last = Duplex.from({ writable, readable }));
  mod.emit = (ev: string) => void last?.emit(ev);
  mod.__repaired = true;
}

/**
 * Opens the connection and sends Hello. Calls may follow at once: the connection queues them
 * until authentication is done and the bus handles them after Hello, as sd-bus pipelines them.
 * A bus that cannot be reached fails the first call with one line naming the address and where
 * it came from: "Failed to connect to bus: No such file or directory (DBUS_SYSTEM_BUS_ADDRESS=…)".
 */
export async function connectBus(transport: Transport, askPassword: boolean, env: NodeJS.ProcessEnv = process.env, unixFds = false): Promise<BusClient> {
  // Loaded here, not at the top, so verbs that never connect never load it. These are internal
  // modules of dbus-next 0.10 (no type declarations); the workspace pins the version.
  await memoizeSignatureParsing();
  // @ts-expect-error untyped internal module
  const { default: createConnection } = await import('dbus-next/lib/connection.js');
  // @ts-expect-error untyped internal module
  const { Message } = await import('dbus-next/lib/message-type.js');
  const address = busAddressFor(transport, env);
  if (address.startsWith('unixexec:')) await repairUnixexec();
  const describe = describeAddress(transport, address, env);
  // dbus-next reaches `unix:path=` through the native usocket addon, which can pass file
  // descriptors; `unix:socket=` is the same socket through node's net module, which needs no addon
  // to load. Only the verbs that pass a descriptor (import-*, export-*) pay for the addon.
  const busAddress = unixFds ? address : address.replace(/(^|;)unix:path=/g, '$1unix:socket=');
  let conn: Connection;
  try {
    conn = (createConnection as (o: object) => Connection)({ busAddress, negotiateUnixFd: unixFds });
  } catch (e) {
    throw new CliError(`Failed to connect to bus: ${(e as Error).message} (${describe})`);
  }
  const client = new BusClient(conn, Message as MessageCtor, askPassword ? ALLOW_INTERACTIVE_AUTHORIZATION : 0, describe);
  // Hello must be first; its reply (our unique name) is not needed, a failure shows in later calls.
  client.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' }).catch(() => {});
  return client;
}
