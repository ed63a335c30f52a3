/**
 * The live table of machined's machines, as nss-helper knows them: filled from a snapshot, kept
 * current by the numbered events that follow it. The sequence numbers decide what an event means:
 *
 * - right after a snapshot, events numbered up to the snapshot's seq were already in it: dropped;
 * - the next number in line is applied;
 * - a number further on means events were lost (a slow joiner, a full queue): re-sync;
 * - a number not above the last one applied means machined restarted and counts from 1 again:
 *   re-sync.
 *
 * "Re-sync" is the caller's job (a new snapshot, see channel-follower.ts); until it arrives the
 * table keeps answering from what it has, which is at worst as stale as machined's restart.
 * Names are compared case-insensitively, as host names are.
 */
import { EventEmitter } from 'node:events';
import type { ChannelMessage, MachineRecord } from '@machined/protocol';

/** What other parts of nss-helper (the userdb service) need from the table. */
export interface MachineSource {
  list(): Array<{ name: string; leader: number }>;
  on(event: 'changed', listener: () => void): void;
}

export type MachineEvent = Extract<ChannelMessage, { type: 'machine.new' | 'machine.changed' | 'machine.removed' }>;
export type Snapshot = Extract<ChannelMessage, { type: 'snapshot' }>;

/** The outcome of handing the table an event. */
export type EventOutcome = 'applied' | 'stale' | 'resync';

export interface MachineTableEvents {
  /** Something in the table changed (any machine added, removed or altered). */
  changed: [];
  /** One machine appeared, changed or went; `before`/`after` are undefined when absent. */
  machine: [name: string, before: MachineRecord | undefined, after: MachineRecord | undefined];
  /** A snapshot was applied (the first one makes the table `synced`). */
  synced: [];
}

export const hostKey = (name: string): string => name.toLowerCase();

export class MachineTable extends EventEmitter<MachineTableEvents> implements MachineSource {
  private readonly machines = new Map<string, MachineRecord>();
  /** The last sequence number applied (from the snapshot or an event); null before any snapshot. */
  private seq: number | null = null;
  /** True from a snapshot until the first event after it: until then, lower numbers are stale. */
  private afterSnapshot = false;

  /** Whether a snapshot has been applied: before that the table knows nothing and says so. */
  get synced(): boolean {
    return this.seq !== null;
  }

  get lastSeq(): number | null {
    return this.seq;
  }

  list(): MachineRecord[] {
    return [...this.machines.values()];
  }

  /** The machine of that name, compared as host names are (ASCII case-insensitive). */
  get(name: string): MachineRecord | undefined {
    return this.machines.get(hostKey(name));
  }

  /** Replaces the whole table with the snapshot's, announcing only what differs. */
  applySnapshot(snap: Pick<Snapshot, 'seq' | 'machines'>): void {
    const next = new Map(snap.machines.map((m) => [hostKey(m.name), m] as const));
    const diffs: Array<[string, MachineRecord | undefined, MachineRecord | undefined]> = [];
    for (const [key, old] of this.machines) {
      const now = next.get(key);
      if (!now) diffs.push([old.name, old, undefined]);
      else if (!sameRecord(old, now)) diffs.push([now.name, old, now]);
    }
    for (const [key, now] of next) if (!this.machines.has(key)) diffs.push([now.name, undefined, now]);
    this.machines.clear();
    for (const [key, m] of next) this.machines.set(key, m);
    this.seq = snap.seq;
    this.afterSnapshot = true;
    for (const d of diffs) this.emit('machine', ...d);
    if (diffs.length > 0) this.emit('changed');
    this.emit('synced');
  }

  /** Applies an event if it is the next one; says when the caller must fetch a new snapshot. */
  applyEvent(ev: MachineEvent): EventOutcome {
    if (this.seq === null) return 'resync';
    if (ev.seq <= this.seq) {
      if (this.afterSnapshot) return 'stale';
      return 'resync';
    }
    if (ev.seq !== this.seq + 1) return 'resync';
    this.seq = ev.seq;
    this.afterSnapshot = false;
    if (ev.type === 'machine.removed') {
      const old = this.machines.get(hostKey(ev.name));
      if (!old) return 'applied';
      this.machines.delete(hostKey(ev.name));
      this.emit('machine', old.name, old, undefined);
    } else {
      const old = this.machines.get(hostKey(ev.machine.name));
      this.machines.set(hostKey(ev.machine.name), ev.machine);
      if (old && sameRecord(old, ev.machine)) return 'applied';
      this.emit('machine', ev.machine.name, old, ev.machine);
    }
    this.emit('changed');
    return 'applied';
  }
}

function sameRecord(a: MachineRecord, b: MachineRecord): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
