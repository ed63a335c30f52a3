/**
 * The client side of org.freedesktop.systemd1 and org.freedesktop.DBus as the systemd backend
 * uses them: raw method calls (no proxies, so no introspection round trip) with a timeout, since
 * dbus-next itself waits forever for a reply that never comes.
 */
import dbus, { type MessageBus } from 'dbus-next';

export const SYSTEMD1_NAME = 'org.freedesktop.systemd1';
export const SYSTEMD1_PATH = '/org/freedesktop/systemd1';
export const MANAGER_INTERFACE = 'org.freedesktop.systemd1.Manager';
export const UNIT_INTERFACE = 'org.freedesktop.systemd1.Unit';
export const PROPERTIES_INTERFACE = 'org.freedesktop.DBus.Properties';

/** sd-bus's default method call timeout. */
export const DEFAULT_CALL_TIMEOUT_MS = 25_000;

export interface MethodCall {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

/** Calls a method and resolves with the reply's body; a D-Bus error reply rejects with DBusError. */
export async function callMethod(bus: MessageBus, call: MethodCall, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<unknown[]> {
  const message = new dbus.Message({
    destination: call.destination,
    path: call.path,
    interface: call.interface,
    member: call.member,
    ...(call.signature !== undefined ? { signature: call.signature, body: call.body ?? [] } : {}),
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new dbus.DBusError('org.freedesktop.DBus.Error.Timeout',
        `No reply from ${call.destination} to ${call.interface}.${call.member} within ${timeoutMs} ms`));
    }, timeoutMs);
    // The connection keeps a daemon alive; a call still waiting must not keep a finished one.
    timer.unref();
  });
  try {
    const reply = await Promise.race([bus.call(message), timeout]);
    return reply?.body ?? [];
  } finally {
    clearTimeout(timer);
  }
}

/** The D-Bus error name of a rejected call (`org.freedesktop.systemd1.NoSuchUnit`), if it was one. */
export function dbusErrorName(err: unknown): string | undefined {
  return err instanceof dbus.DBusError ? err.type : undefined;
}

function busDaemon(member: string, signature: string, body: unknown[]): MethodCall {
  return { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member, signature, body };
}

export async function addMatch(bus: MessageBus, rule: string): Promise<void> {
  await callMethod(bus, busDaemon('AddMatch', 's', [rule]));
}

export async function removeMatch(bus: MessageBus, rule: string): Promise<void> {
  await callMethod(bus, busDaemon('RemoveMatch', 's', [rule]));
}

export async function nameHasOwner(bus: MessageBus, name: string): Promise<boolean> {
  const [owned] = await callMethod(bus, busDaemon('NameHasOwner', 's', [name]));
  return owned === true;
}

/** The unique name owning `name`, or undefined when nobody does. */
export async function nameOwner(bus: MessageBus, name: string): Promise<string | undefined> {
  try {
    const [owner] = await callMethod(bus, busDaemon('GetNameOwner', 's', [name]));
    return typeof owner === 'string' ? owner : undefined;
  } catch (err) {
    if (dbusErrorName(err) === 'org.freedesktop.DBus.Error.NameHasNoOwner') return undefined;
    throw err;
  }
}

/** Match rule for a signal from systemd (dbus-daemon resolves the well-known sender name). */
export function systemdSignalRule(iface: string, member: string, path?: string): string {
  return `type='signal',sender='${SYSTEMD1_NAME}',interface='${iface}',member='${member}'${path ? `,path='${path}'` : ''}`;
}
