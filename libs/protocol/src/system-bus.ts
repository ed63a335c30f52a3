/**
 * Connecting to the system bus. Every daemon, client and test finds the bus the same way real
 * systemd clients do: DBUS_SYSTEM_BUS_ADDRESS when set, the standard socket otherwise; so pointing
 * the whole stack and systemd's own tools at a private bus is one environment variable.
 */
import dbus from 'dbus-next';
import { DEFAULT_SYSTEM_BUS_ADDRESS } from './bus-names.js';

export function systemBusAddress(env: NodeJS.ProcessEnv = process.env): string {
  const a = env.DBUS_SYSTEM_BUS_ADDRESS;
  return a && a.length > 0 ? a : DEFAULT_SYSTEM_BUS_ADDRESS;
}

export interface ConnectOptions {
  address?: string;
  /** Needed on both ends of any call that passes file descriptors (`h`). */
  negotiateUnixFd?: boolean;
}

/** Opens a connection and resolves once the bus has said Hello (so `bus.name` is set). */
export async function connectSystemBus(options: ConnectOptions = {}): Promise<dbus.MessageBus> {
  const busAddress = options.address ?? systemBusAddress();
  const bus = dbus.sessionBus({ busAddress, negotiateUnixFd: options.negotiateUnixFd ?? false } as never);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot connect to the system bus at ${busAddress}: ${err.message}`));
    bus.once('error', onError);
    bus.once('connect', () => {
      bus.off('error', onError);
      resolve();
    });
  });
  return bus;
}

export const DBUS_NAME_FLAG_DO_NOT_QUEUE = 0x4;
export const DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER = 1;

/** Asks the bus driver whether a name has an owner right now. */
export async function nameHasOwner(bus: dbus.MessageBus, name: string): Promise<boolean> {
  const reply = await bus.call(
    new dbus.Message({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'NameHasOwner',
      signature: 's',
      body: [name],
    }),
  );
  return reply?.body?.[0] === true;
}
