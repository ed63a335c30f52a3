/**
 * The addresses `ip -json address show` lists, in the order host look-ups must return them:
 * global scope first, then site, then link-local (systemd#20724: programs take the first, and a
 * link-local one is useless without its interface), the kernel's order within a scope; loopback
 * interfaces and host-scope addresses left out, as upstream's local_addresses() does. The same
 * rules as machined's GetMachineAddresses, so both look-up paths give the same answer.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface HostAddress {
  family: 4 | 6;
  /** Textual form, as ip prints it (inet_pton reads it back). */
  address: string;
}

interface IpAddressJson {
  flags?: string[];
  addr_info?: Array<{ family?: string; local?: string; scope?: string}>;
}

const SCOPE_ORDER: Record<string, number> = { global: 0, site: 1, link: 2 };

export function addressesFromIpJson(json: string): HostAddress[] {
  let links: unknown;
  try {
    links = JSON.parse(json);
  } catch {
    throw new Error(`ip printed something that is not JSON: ${json.slice(0, 80)}`);
  }
  if (!Array.isArray(links)) throw new Error('ip -json address did not print a list');
  const found: Array<HostAddress & { order: number; index: number }> = [];
  for (const link of links as IpAddressJson[]) {
    if (link.flags?.includes('LOOPBACK')) continue;
    for (const a of link.addr_info ?? []) {
      const order = SCOPE_ORDER[a.scope ?? ''];
      if (order === undefined || !a.local) continue;
      if (a.family === 'inet' && isIPv4(a.local)) found.push({ family: 4, address: a.local, order, index: found.length });
      else if (a.family === 'inet6' && isIPv6(a.local)) found.push({ family: 6, address: a.local, order, index: found.length });
    }
  }
  found.sort((x, y) => x.order - y.order || x.index - y.index);
  return found.map(({ family, address }) => ({ family, address }));
}
