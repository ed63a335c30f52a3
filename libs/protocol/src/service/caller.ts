/**
 * Who is calling: UID and PID of a sender, from the bus driver's GetConnectionCredentials. Unique
 * names are never reused on a bus, so an answer can be cached for the life of the connection;
 * the cache is bounded so that a stream of short-lived clients does not grow it without end.
 */
import dbus from 'dbus-next';
import { DBUS_BUS_NAME, DBUS_INTERFACE, DBUS_PATH } from '../bus-names.js';
import { Errors } from '../errors.js';

export interface CallerCredentials {
  uid: number;
  pid: number;
}

export interface CallerLookup {
  lookup(sender: string): Promise<CallerCredentials>;
}

const MAX_CACHED = 4096;

export class BusCallerLookup implements CallerLookup {
  private readonly cache = new Map<string, Promise<CallerCredentials>>();

  constructor(private readonly bus: dbus.MessageBus) {}

  lookup(sender: string): Promise<CallerCredentials> {
    let p = this.cache.get(sender);
    if (!p) {
      p = this.query(sender);
      this.cache.set(sender, p);
      p.catch(() => this.cache.delete(sender));
      if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    }
    return p;
  }

  private async query(sender: string): Promise<CallerCredentials> {
    const reply = await this.bus.call(
      new dbus.Message({
        destination: DBUS_BUS_NAME,
        path: DBUS_PATH,
        interface: DBUS_INTERFACE,
        member: 'GetConnectionCredentials',
        signature: 's',
        body: [sender],
      }),
    );
    const creds = (reply?.body?.[0] ?? {}) as Record<string, { value: unknown }>;
    const uid = creds.UnixUserID?.value;
    const pid = creds.ProcessID?.value;
    if (typeof uid !== 'number' || typeof pid !== 'number') throw Errors.accessDenied(`Cannot determine credentials of ${sender}`);
    return { uid, pid };
  }
}
