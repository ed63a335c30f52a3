/**
 * One authorize(action, details) for every privileged call. Root always may; a machine's owner may
 * act on it (upstream passes the owner to polkit for the same effect); anyone else needs polkit's
 * CheckAuthorization, and where no polkit answers on the bus the answer is AccessDenied.
 */
import dbus from 'dbus-next';
import { POLKIT_AUTHORITY_INTERFACE, POLKIT_AUTHORITY_PATH, POLKIT_BUS_NAME } from '../bus-names.js';
import { Errors } from '../errors.js';
import type { Logger } from './log.js';
import type { CallContext } from './object-server.js';

const POLKIT_ALLOW_USER_INTERACTION = 0x1;
const POLKIT_TIMEOUT_MS = 25_000;

export interface AuthorizeOptions {
  /** UID that owns the object acted on; that user is allowed without asking polkit. */
  ownerUid?: number;
}

export class Authorizer {
  constructor(
    private readonly bus: dbus.MessageBus,
    private readonly log: Logger,
  ) {}

  async authorize(ctx: CallContext, action: string, details: Record<string, string>, opts: AuthorizeOptions = {}): Promise<void> {
    const { uid } = await ctx.caller();
    if (uid === 0) return;
    if (opts.ownerUid !== undefined && opts.ownerUid === uid && opts.ownerUid !== 0) return;
    const verdict = await this.checkPolkit(ctx, action, details);
    if (verdict === 'yes') return;
    if (verdict === 'challenge' && !ctx.allowInteractive) throw Errors.interactiveAuthorizationRequired();
    throw Errors.accessDenied();
  }

  private async checkPolkit(ctx: CallContext, action: string, details: Record<string, string>): Promise<'yes' | 'no' | 'challenge'> {
    const subject = ['system-bus-name', { name: new dbus.Variant('s', ctx.sender) }];
    const call = this.bus.call(
      new dbus.Message({
        destination: POLKIT_BUS_NAME,
        path: POLKIT_AUTHORITY_PATH,
        interface: POLKIT_AUTHORITY_INTERFACE,
        member: 'CheckAuthorization',
        signature: '(sa{sv})sa{ss}us',
        body: [subject, action, details, ctx.allowInteractive ? POLKIT_ALLOW_USER_INTERACTION : 0, ''],
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('polkit did not answer')), POLKIT_TIMEOUT_MS);
    });
    try {
      const reply = await Promise.race([call, timeout]);
      const [authorized, challenge] = (reply?.body?.[0] ?? [false, false]) as [boolean, boolean];
      return authorized ? 'yes' : challenge ? 'challenge' : 'no';
    } catch (e) {
      // No polkit on the bus (the usual case on hosts without systemd): nobody can grant anything.
      this.log.debug(`polkit check of ${action} for ${ctx.sender} failed: ${(e as Error).message ?? e}`);
      return 'no';
    } finally {
      clearTimeout(timer);
    }
  }
}
