/**
 * Upstream's OPERATIONS_MAX: at most 64 slow image operations (clone, remove, clean) at once;
 * the next one is refused with LimitsExceeded instead of queueing without bound.
 */
import { Errors } from '@machined/protocol';

export const OPERATIONS_MAX = 64;

export class OperationSlots {
  private running = 0;

  constructor(private readonly max = OPERATIONS_MAX) {}

  get active(): number {
    return this.running;
  }

  /** Throws LimitsExceeded when every slot is taken (checked before authorization, as upstream). */
  check(): void {
    if (this.running >= this.max) throw Errors.tooManyOperations();
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.check();
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
    }
  }
}
