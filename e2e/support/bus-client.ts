/**
 * A small dbus-next client for assertions: calls with a time limit (dbus-next has none, and an
 * unanswered call would hang the test until mocha's timeout says nothing useful) and signal
 * collectors that fill as signals arrive.
 */
import dbus from 'dbus-next';
import type { Message, MessageBus } from 'dbus-next';

export const DBUS_NAME = 'org.freedesktop.DBus';
export const DBUS_PATH = '/org/freedesktop/DBus';
export const DBUS_IFACE = 'org.freedesktop.DBus';

export interface SignalMatch {
  /** A well-known name is matched by the bus daemon only; a unique name (`:1.5`) also locally. */
  sender?: string;
  path?: string;
  interface?: string;
  member?: string;
}

export interface SignalCollector {
  /** Every matching signal so far, in arrival order. */
  readonly signals: Message[];
  /**
   * Resolves with the first signal (already collected or still to come) that satisfies the
   * predicate; rejects after timeoutMs, listing what did arrive.
   */
  waitFor(predicate?: (msg: Message) => boolean, timeoutMs?: number): Promise<Message>;
  /** Removes the match rule and stops collecting. */
  stop(): Promise<void>;
}

export interface BusClient {
  bus: MessageBus;
  /** This connection's unique name, e.g. `:1.7`. */
  uniqueName: string;
  /** Calls a method; resolves with the reply body; rejects with dbus-next's DBusError (`.type` is the error name). */
  call(
    destination: string,
    path: string,
    iface: string,
    member: string,
    signature?: string,
    body?: unknown[],
    timeoutMs?: number,
  ): Promise<any[]>;
  nameHasOwner(name: string): Promise<boolean>;
  collectSignals(match: SignalMatch): Promise<SignalCollector>;
  close(): void;
}

export const DEFAULT_CALL_TIMEOUT_MS = 10000;

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no reply within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function matchRule(match: SignalMatch): string {
  const parts = ["type='signal'"];
  if (match.sender) parts.push(`sender='${match.sender}'`);
  if (match.path) parts.push(`path='${match.path}'`);
  if (match.interface) parts.push(`interface='${match.interface}'`);
  if (match.member) parts.push(`member='${match.member}'`);
  return parts.join(',');
}

function matches(msg: Message, match: SignalMatch): boolean {
  if (msg.type !== dbus.MessageType.SIGNAL) return false;
  if (match.sender?.startsWith(':') && msg.sender !== match.sender) return false;
  if (match.path && msg.path !== match.path) return false;
  if (match.interface && msg.interface !== match.interface) return false;
  if (match.member && msg.member !== match.member) return false;
  return true;
}

function describe(msg: Message): string {
  return `${msg.interface}.${msg.member} on ${msg.path} from ${msg.sender} ${JSON.stringify(msg.body, (_, v) =>
    typeof v === 'bigint' ? v.toString() : v,
  )}`;
}

/** Connects to the bus at address (any address: sessionBus() only means "take this address"). */
export async function connectBus(address: string, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<BusClient> {
  const bus = dbus.sessionBus({ busAddress: address });
  // An error event without a listener would crash mocha; a failed connect rejects below instead.
  let failure: Error | undefined;
  bus.on('error', (err: Error) => {
    failure = err;
  });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      bus.once('connect', () => resolve());
      bus.once('error', (err: Error) => reject(new Error(`cannot connect to ${address}: ${err.message}`)));
    }),
    timeoutMs,
    `connecting to ${address}`,
  );
  const uniqueName = (bus as unknown as { name: string }).name;

  const call: BusClient['call'] = async (destination, path, iface, member, signature = '', body = [], ms) => {
    if (failure) throw new Error(`bus connection failed: ${failure.message}`);
    const msg = new dbus.Message({ destination, path, interface: iface, member, signature, body });
    const reply = await withTimeout(bus.call(msg), ms ?? DEFAULT_CALL_TIMEOUT_MS, `${iface}.${member} to ${destination}`);
    return reply?.body ?? [];
  };

  const nameHasOwner = async (name: string): Promise<boolean> => {
    const [has] = await call(DBUS_NAME, DBUS_PATH, DBUS_IFACE, 'NameHasOwner', 's', [name]);
    return has as boolean;
  };

  const collectSignals = async (match: SignalMatch): Promise<SignalCollector> => {
    const rule = matchRule(match);
    const signals: Message[] = [];
    const waiters = new Set<(msg: Message) => void>();
    const onMessage = (msg: Message): void => {
      if (!matches(msg, match)) return;
      signals.push(msg);
      for (const w of [...waiters]) w(msg);
    };
    bus.on('message', onMessage);
    // Added after the listener, and awaited: no signal sent after this resolves can be missed.
    await call(DBUS_NAME, DBUS_PATH, DBUS_IFACE, 'AddMatch', 's', [rule]);
    let stopped = false;
    return {
      signals,
      waitFor(predicate = () => true, waitMs = DEFAULT_CALL_TIMEOUT_MS) {
        const seen = signals.find(predicate);
        if (seen) return Promise.resolve(seen);
        return new Promise<Message>((resolve, reject) => {
          const waiter = (msg: Message): void => {
            if (!predicate(msg)) return;
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(msg);
          };
          const timer = setTimeout(() => {
            waiters.delete(waiter);
            reject(
              new Error(
                `no matching signal for ${rule} within ${waitMs} ms; got ${signals.length}:\n` +
                  signals.map(describe).join('\n'),
              ),
            );
          }, waitMs);
          waiters.add(waiter);
        });
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        bus.off('message', onMessage);
        await call(DBUS_NAME, DBUS_PATH, DBUS_IFACE, 'RemoveMatch', 's', [rule]).catch(() => undefined);
      },
    };
  };

  return { bus, uniqueName, call, nameHasOwner, collectSignals, close: () => bus.disconnect() };
}

/** Polls until name has an owner on the bus at address; rejects after timeoutMs. */
export async function waitForNameOwner(
  address: string,
  name: string,
  timeoutMs: number,
  shouldStop?: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const client = await connectBus(address, Math.min(timeoutMs, DEFAULT_CALL_TIMEOUT_MS));
  try {
    for (;;) {
      if (await client.nameHasOwner(name)) return;
      const reason = shouldStop?.();
      if (reason) throw new Error(reason);
      if (Date.now() > deadline) throw new Error(`${name} has no owner after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    client.close();
  }
}
