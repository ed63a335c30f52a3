/** The object tree of org.freedesktop.import1: the Manager and one object per running transfer. */
import {
  IMPORT1_PATH,
  IMPORT1_TRANSFER_PATH_PREFIX,
  transferIdFromObjectPath,
  type Authorizer,
  type ObjectTree,
  type ServedInterface,
  type ServedObject,
} from '@machined/protocol';
import type { Transfers } from '../transfer/transfers.js';
import { transferInterface } from './transfer-bus.js';

export class ImportTree implements ObjectTree {
  constructor(
    private readonly transfers: Transfers,
    private readonly manager: ServedInterface,
    private readonly authorizer: Authorizer,
  ) {}

  resolve(path: string): ServedObject | null {
    if (path === IMPORT1_PATH) return { interfaces: [this.manager] };
    const id = transferIdFromObjectPath(path);
    const t = id === null ? undefined : this.transfers.get(id);
    return t ? { interfaces: [transferInterface(t, this.authorizer)] } : null;
  }

  children(path: string): string[] {
    if (path === IMPORT1_TRANSFER_PATH_PREFIX) return this.transfers.list().map((t) => `_${t.id}`);
    if (path === IMPORT1_PATH) return this.transfers.size > 0 ? ['transfer'] : [];
    const below = IMPORT1_PATH.split('/').filter(Boolean);
    const at = path === '/' ? [] : path.split('/').filter(Boolean);
    if (at.length < below.length && at.every((c, i) => below[i] === c)) return [below[at.length]!];
    return [];
  }
}
