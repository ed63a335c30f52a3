/**
 * The wire protocol between libnss_machines.so.2 (native/libnss_machines.c) and nss-helper: one
 * request line per connection, one answer, then the helper closes. Text, so that it can be tried
 * with `socat - UNIX-CONNECT:…`, and small: a look-up is a few dozen bytes each way.
 *
 *   request   "HOSTS <af> <name>\n"        af: 0 (any family), 2 (AF_INET) or 10 (AF_INET6)
 *   answer    "OK <scopeid> <count>\n" then count lines "4 <address>\n" or "6 <address>\n"
 *             "NOTFOUND\n"                  no such container, or none of that family
 *             "TRYAGAIN\n"                  its addresses are still being read
 *             "UNAVAIL <why>\n"             nss-helper knows no machines yet (not synced)
 *             "ERROR <why>\n"               a request it cannot read
 * The module turns these into NSS_STATUS_SUCCESS / NOTFOUND / TRYAGAIN / UNAVAIL (ERROR too).
 */
import type { LookupFamily, LookupResult } from '../addresses/address-book.js';

/** The most addresses one answer carries (the module's MAX_ADDRS); the first ones in order. */
export const MAX_ANSWER_ADDRESSES = 128;

/** Longer requests are refused (a host name is at most 253 characters). */
export const MAX_REQUEST = 300;

export interface HostsRequest {
  family: LookupFamily;
  name: string;
}

export class RequestError extends Error {}

const FAMILIES: Record<string, LookupFamily> = { '0': 0, '2': 4, '10': 6 };

/** Parses one request line (without its newline). */
export function parseHostsRequest(line: string): HostsRequest {
  const m = /^HOSTS ([0-9]+) ([^\s]{1,253})$/.exec(line);
  if (!m) throw new RequestError(`bad request ${JSON.stringify(line.slice(0, 60))}, expected "HOSTS <af> <name>"`);
  const family = FAMILIES[m[1]!];
  if (family === undefined) throw new RequestError(`address family ${m[1]} not supported (0, 2 or 10)`);
  return { family, name: m[2]! };
}

export function encodeHostsAnswer(r: LookupResult): string {
  switch (r.kind) {
    case 'ok': {
      const list = r.addresses.slice(0, MAX_ANSWER_ADDRESSES);
      return `OK ${r.scopeid} ${list.length}\n${list.map((a) => `${a.family} ${a.address}\n`).join('')}`;
    }
    case 'notfound':
      return 'NOTFOUND\n';
    case 'tryagain':
      return 'TRYAGAIN\n';
    case 'unavail':
      return `UNAVAIL ${oneLine(r.why)}\n`;
  }
}

export function encodeHostsError(message: string): string {
  return `ERROR ${oneLine(message)}\n`;
}

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');
