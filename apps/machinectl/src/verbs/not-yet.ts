/**
 * Verbs this machinectl does not do yet: terminal forwarding (login, shell). They say so in one
 * line and fail, rather than pretend.
 */
import type { Context } from './context.js';

export async function notYet(ctx: Context): Promise<number> {
  ctx.log(`machinectl: the '${ctx.verb}' command is not implemented yet.`);
  return 1;
}
