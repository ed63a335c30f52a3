/**
 * Per-machine look-ups shared by list and status: the OS release fields and the addresses, each
 * failure silently leaving the field out (upstream logs them at debug level only).
 */
import type { BusClient } from '../bus/bus-client.js';
import { machineManager } from '../bus/calls.js';
import { AF_INET6, addressToString } from '../format/addresses.js';

export async function osReleaseFields(bus: BusClient, method: string, name: string): Promise<Record<string, string> | undefined> {
  const r = await bus.tryCall(machineManager(method, 's', [name]));
  return r.error ? undefined : ((r.body[0] ?? {}) as Record<string, string>);
}

/**
 * The machine's addresses joined as upstream's call_get_addresses() joins them: the first after
 * `prefix`, the rest after `separator`; IPv6 ones get `%ifindex` when ifindex > 0. Undefined when
 * the call fails or there is none.
 */
export async function machineAddresses(
  bus: BusClient,
  name: string,
  ifindex: number,
  prefix: string,
  separator: string,
): Promise<{ text: string; count: number } | undefined> {
  const r = await bus.tryCall(machineManager('GetMachineAddresses', 's', [name]));
  if (r.error) return undefined;
  const list = r.body[0] as Array<[number, Buffer]> | undefined;
  let text = prefix;
  let count = 0;
  for (const [family, bytes] of list ?? []) {
    const s = addressToString(family, bytes) ?? '';
    text += (count > 0 ? separator : '') + s + (family === AF_INET6 && ifindex > 0 ? `%${ifindex}` : '');
    count++;
  }
  return { text, count };
}
