/**
 * Reporting a failed call the way upstream does: "Could not <do X>: <message>" on stderr, exit 1.
 */
import { toCallError } from '../bus/bus-client.js';
import type { Context } from './context.js';

export function couldNot(ctx: Context, what: string, e: unknown): number {
  ctx.log(`${what}: ${toCallError(e).message}`);
  return 1;
}
