/**
 * The calls machinectl makes, as data: destination, path, interface, member and signature for
 * each, from the names of libs/protocol (mirrored in names.ts), so every verb sends exactly what upstream sends.
 */
import {
  IMPORT1_BUS_NAME,
  IMPORT1_PATH,
  MACHINE1_BUS_NAME,
  MACHINE1_MANAGER_INTERFACE,
  MACHINE1_PATH,
  PROPERTIES_INTERFACE,
  SYSTEMD1_BUS_NAME,
  SYSTEMD1_MANAGER_INTERFACE,
  SYSTEMD1_PATH,
  IMPORT1_MANAGER_INTERFACE,
} from './names.js';
import type { CallSpec } from './bus-client.js';

export function machineManager(member: string, signature = '', body: unknown[] = [], timeout = true): CallSpec {
  return { destination: MACHINE1_BUS_NAME, path: MACHINE1_PATH, interface: MACHINE1_MANAGER_INTERFACE, member, signature, body, timeout };
}

export function systemdManager(member: string, signature = '', body: unknown[] = []): CallSpec {
  return { destination: SYSTEMD1_BUS_NAME, path: SYSTEMD1_PATH, interface: SYSTEMD1_MANAGER_INTERFACE, member, signature, body };
}

export function importManager(member: string, signature = '', body: unknown[] = []): CallSpec {
  return { destination: IMPORT1_BUS_NAME, path: IMPORT1_PATH, interface: IMPORT1_MANAGER_INTERFACE, member, signature, body };
}

/** Properties.GetAll with the empty interface name, as sd-bus's bus_map_all_properties sends it. */
export function getAllProperties(destination: string, path: string): CallSpec {
  return { destination, path, interface: PROPERTIES_INTERFACE, member: 'GetAll', signature: 's', body: [''] };
}

export function getProperty(destination: string, path: string, iface: string, name: string): CallSpec {
  return { destination, path, interface: PROPERTIES_INTERFACE, member: 'Get', signature: 'ss', body: [iface, name] };
}

/** A{sv} as dbus-next hands it over: name → {signature, value}. */
export type PropertyMap = Record<string, { signature: string; value: unknown }>;
