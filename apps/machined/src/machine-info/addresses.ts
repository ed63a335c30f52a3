/**
 * GetAddresses: the IP addresses inside a container's network namespace, global scope first, then
 * site, then link-local (systemd#20724: callers take the first), loopback and host-scope ones
 * left out as upstream's local_addresses() does. Read with `ip -json address` run in the
 * namespace through nsenter, so machined itself never changes namespace.
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { Errors } from '@machined/protocol';
import type { Machine } from '../registry/machine.js';

export const AF_INET = 2;
export const AF_INET6 = 10;

interface IpAddressJson {
  flags?: string[];
  addr_info?: Array<{ family?: string; local?: string; scope?: string }>;
}

const SCOPE_ORDER: Record<string, number> = { global: 0, site: 1, link: 2 };

export function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

export function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  let parts = groups(head);
  let rest = groups(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
  const fixV4 = (list: string[]) => {
    const last = list[list.length - 1];
    if (last && isIPv4(last)) {
      const b = ipv4Bytes(last);
      list.splice(list.length - 1, 1, ((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16));
    }
  };
  if (tail === undefined) fixV4(parts);
  else fixV4(rest);
  if (tail !== undefined) parts = [...parts, ...Array(8 - parts.length - rest.length).fill('0'), ...rest];
  rest = [];
  const out = Buffer.alloc(16);
  parts.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

/** Turns `ip -json address` output into machine1's a(iay), in upstream's order. */
export function addressesFromIpJson(json: string): Array<[number, Buffer]> {
  const found: Array<{ family: number; bytes: Buffer; order: number; index: number }> = [];
  for (const link of JSON.parse(json) as IpAddressJson[]) {
    if (link.flags?.includes('LOOPBACK')) continue;
    for (const a of link.addr_info ?? []) {
      const order = SCOPE_ORDER[a.scope ?? ''];
      if (order === undefined || !a.local) continue;
      if (a.family === 'inet' && isIPv4(a.local)) found.push({ family: AF_INET, bytes: ipv4Bytes(a.local), order, index: found.length });
      else if (a.family === 'inet6' && isIPv6(a.local)) found.push({ family: AF_INET6, bytes: ipv6Bytes(a.local), order, index: found.length });
    }
  }
  found.sort((x, y) => x.order - y.order || x.index - y.index);
  return found.map((f) => [f.family, f.bytes]);
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export async function machineAddresses(m: Machine): Promise<Array<[number, Buffer]>> {
  if (m.isHost) return addressesFromIpJson(await run('ip', ['-json', 'address', 'show']));
  if (m.class !== 'container') throw Errors.addressesOnlyContainers();
  const netns = `/proc/${m.leader}/ns/net`;
  let theirs;
  try {
    theirs = statSync(netns).ino;
  } catch (e) {
    throw Errors.failed(`Cannot open the network namespace of ${m.name}: ${(e as Error).message}`);
  }
  if (theirs === statSync('/proc/self/ns/net').ino) throw Errors.noPrivateNetworking(m.name);
  try {
    return addressesFromIpJson(await run('nsenter', [`--net=${netns}`, '--', 'ip', '-json', 'address', 'show']));
  } catch (e) {
    throw Errors.failed(`Cannot list the addresses of ${m.name}: ${(e as Error).message}`);
  }
}
