/**
 * The transfers running now, by id. Ids count up from 1 and are never reused while importd runs
 * (a client that waits for TransferRemoved of id N must never see another transfer's). At most
 * TRANSFERS_MAX run at once, and one per local image name, so two writers never race for a name.
 */
import { EventEmitter } from 'node:events';
import { Errors, TRANSFERS_MAX, type TransferResult } from '@machined/protocol';
import { Transfer, type TransferInfo, type TransferWork } from './transfer.js';

export class Transfers extends EventEmitter<{
  new: [t: Transfer];
  removed: [t: Transfer, result: TransferResult];
}> {
  private readonly byId = new Map<number, Transfer>();
  private lastId = 0;

  list(): Transfer[] {
    return [...this.byId.values()];
  }

  get(id: number): Transfer | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Checks the limits, registers the transfer and starts its work once the caller has replied. */
  start(info: TransferInfo, work: TransferWork): Transfer {
    if (this.byId.size >= TRANSFERS_MAX) throw Errors.tooManyTransfers(TRANSFERS_MAX);
    for (const t of this.byId.values()) {
      if (info.type.startsWith('pull-') && t.info.type === info.type && t.info.remote === info.remote) {
        throw Errors.transferInProgress(info.remote);
      }
      // Exports only read the image; everything else writes the local name.
      if (info.local && t.info.local === info.local && !(info.type.startsWith('export-') && t.info.type.startsWith('export-'))) {
        throw Errors.transferInProgress(info.local);
      }
    }
    this.lastId = this.lastId >= 0xffff_ffff ? 1 : this.lastId + 1;
    const t = new Transfer(this.lastId, info);
    this.byId.set(t.id, t);
    this.emit('new', t);
    // After the method reply: a transfer that fails at once must still be announced after the
    // (id, path) that its client waits on.
    setImmediate(() => {
      void t.run(work).then((result) => {
        this.byId.delete(t.id);
        this.emit('removed', t, result);
      });
    });
    return t;
  }

  cancelAll(): void {
    for (const t of this.byId.values()) t.cancel();
  }
}
