/**
 * One transfer: what it is (type, local name, remote), how far it got, its log, and the promise
 * that it ends exactly once with done, failed or canceled. The work itself is a function given an
 * AbortSignal; whatever it throws fails the transfer with its message as the last log line, so a
 * client waiting for TransferRemoved always gets it (systemd#9527).
 */
import { EventEmitter } from 'node:events';
import { PROGRESS_UNKNOWN, transferObjectPath, type TransferResult, type TransferType } from '@machined/protocol';

/** syslog priorities, as LogMessage carries them. */
export const LOG_ERR = 3;
export const LOG_WARNING = 4;
export const LOG_INFO = 6;

export interface TransferInfo {
  type: TransferType;
  local: string;
  remote: string;
  verify: string;
}

export interface TransferWork {
  (t: Transfer, signal: AbortSignal): Promise<void>;
}

/** A failure whose message is already meant for the administrator (no "Error:" prefixes, no stack). */
export class TransferError extends Error {}

export class Transfer extends EventEmitter<{
  log: [priority: number, line: string];
  /** Progress moved by at least a percent (ProgressUpdate; clients of 252 poll the property instead). */
  progress: [fraction: number];
  finished: [result: TransferResult];
}> {
  readonly path: string;
  private readonly abort = new AbortController();
  private fraction = PROGRESS_UNKNOWN;
  private result: TransferResult | null = null;
  private cancelRequested = false;

  constructor(
    readonly id: number,
    readonly info: TransferInfo,
  ) {
    super();
    this.path = transferObjectPath(id);
  }

  get progress(): number {
    return this.fraction;
  }

  get finished(): boolean {
    return this.result !== null;
  }

  /** Fraction 0..1 of the work done, or PROGRESS_UNKNOWN. */
  setProgress(fraction: number): void {
    if (this.result) return;
    const next = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : PROGRESS_UNKNOWN;
    const announce = next >= 0 && Math.floor(next * 100) !== Math.floor(this.fraction * 100);
    this.fraction = next;
    if (announce) this.emit('progress', next);
  }

  log(priority: number, line: string): void {
    if (this.result) return;
    this.emit('log', priority, line);
  }

  cancel(): void {
    if (this.result || this.cancelRequested) return;
    this.cancelRequested = true;
    this.abort.abort(new TransferError('Transfer canceled.'));
  }

  /** Runs the work once; never rejects. */
  async run(work: TransferWork): Promise<TransferResult> {
    let result: TransferResult;
    try {
      await work(this, this.abort.signal);
      if (this.cancelRequested) throw new TransferError('Transfer canceled.');
      this.fraction = 1;
      this.log(LOG_INFO, 'Operation completed successfully.');
      result = 'done';
    } catch (e) {
      if (this.cancelRequested) {
        this.log(LOG_ERR, 'Transfer canceled.');
        result = 'canceled';
      } else {
        this.log(LOG_ERR, e instanceof TransferError ? e.message : `Transfer failed: ${(e as Error)?.message ?? String(e)}`);
        result = 'failed';
      }
    }
    this.log(LOG_INFO, 'Exiting.');
    this.result = result;
    this.emit('finished', result);
    return result;
  }
}
