/**
 * What a host look-up answers, from the machine table and the watched namespaces: one
 * NetnsAddresses per container-class machine, started when it appears, replaced when its leader
 * changes, stopped when it goes. Only containers resolve (as with libnss_mymachines: VMs and
 * `.host` do not); names compare case-insensitively.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import type { Logger, MachineRecord } from '@machined/protocol';
import { hostKey, type MachineTable } from '../table/machine-table.js';
import type { HostAddress } from './ip-address-json.js';
import { NetnsAddresses, type NetnsAddressesOptions } from './netns-addresses.js';

export type LookupFamily = 0 | 4 | 6;

export type LookupResult =
  | { kind: 'ok'; scopeid: number; addresses: HostAddress[] }
  | { kind: 'notfound' }
  | { kind: 'tryagain' }
  | { kind: 'unavail'; why: string };

export interface AddressBookOptions extends NetnsAddressesOptions {
  /**
   * How long a look-up of a machine whose addresses are still being read waits for them; below
   * the NSS module's 200 ms deadline (default 120 ms). After that the answer is NOTFOUND: to the
   * client the container is simply not there yet, the same as a moment before it registered.
   * (TRYAGAIN would make getaddrinfo fail with EAI_AGAIN, which most programs take as an error.)
   */
  pendingWaitMs?: number;
}

interface Entry {
  machine: MachineRecord;
  addresses: NetnsAddresses;
}

/** `changed`: some answer may differ now (a machine came or went, addresses changed, a sync). */
export class AddressBook extends EventEmitter<{ changed: [] }> {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly table: MachineTable,
    private readonly log: Logger,
    private readonly options: AddressBookOptions = {},
  ) {
    super();
    table.on('machine', (name, _before, after) => this.update(name, after));
    table.on('synced', () => this.emit('changed'));
    for (const m of table.list()) this.update(m.name, m);
  }

  get synced(): boolean {
    return this.table.synced;
  }

  /**
   * Every container's answer, for the published table (hosts-table.ts): `ok` ones with their
   * addresses, the others as `pending` (the socket path waits for them or says TRYAGAIN).
   */
  snapshot(): Array<{ key: string; result: LookupResult | 'pending' }> {
    const out: Array<{ key: string; result: LookupResult | 'pending' }> = [];
    for (const [key, entry] of this.entries) {
      const kind = entry.addresses.state.kind;
      out.push({ key, result: kind === 'pending' || kind === 'failed' ? 'pending' : this.answer(entry, 0) });
    }
    return out;
  }

  private update(name: string, m: MachineRecord | undefined): void {
    const key = hostKey(name);
    const old = this.entries.get(key);
    const wanted = m && m.class === 'container' && m.leader > 0 ? m : undefined;
    if (old && wanted && old.machine.leader === wanted.leader) {
      old.machine = wanted;
      this.emit('changed');
      return;
    }
    old?.addresses.close();
    this.entries.delete(key);
    if (wanted) {
      const addresses = new NetnsAddresses(wanted.leader, `machine ${wanted.name} (leader ${wanted.leader})`, this.log, this.options);
      this.entries.set(key, { machine: wanted, addresses });
      addresses.on('updated', () => this.emit('changed'));
      addresses.start();
    }
    this.emit('changed');
  }

  /** The answer for `name`; a promise only while that machine's addresses are first being read. */
  lookup(name: string, family: LookupFamily): LookupResult | Promise<LookupResult> {
    if (!this.table.synced) return { kind: 'unavail', why: 'not synced with machined yet' };
    const entry = this.entries.get(hostKey(name));
    if (!entry) return { kind: 'notfound' };
    if (entry.addresses.state.kind === 'pending') {
      return entry.addresses.whenKnown(this.options.pendingWaitMs ?? 120).then(() => this.answer(entry, family));
    }
    return this.answer(entry, family);
  }

  private answer(entry: Entry, family: LookupFamily): LookupResult {
    const state = entry.addresses.state;
    if (state.kind === 'pending') return { kind: 'notfound' };
    // Reading them failed though the namespace is there: a passing fault, ask again later.
    if (state.kind === 'failed') return { kind: 'tryagain' };
    if (state.kind === 'none') return { kind: 'notfound' };
    // The leader is gone but machined has not said so yet: the name is about to vanish.
    if (!existsSync(`/proc/${entry.machine.leader}`)) return { kind: 'notfound' };
    const addresses = family === 0 ? state.addresses : state.addresses.filter((a) => a.family === family);
    if (addresses.length === 0) return { kind: 'notfound' };
    // As libnss_mymachines: the host-side interface is the scope when there is exactly one.
    const ifs = entry.machine.networkInterfaces;
    return { kind: 'ok', scopeid: ifs.length === 1 ? ifs[0]! : 0, addresses };
  }

  close(): void {
    for (const e of this.entries.values()) e.addresses.close();
    this.entries.clear();
  }
}
