/**
 * Serves objects described by libs/protocol interface tables on a dbus-next connection.
 *
 * dbus-next's own service layer cannot do what real clients need: it answers GetAll("") with
 * nothing (sd-bus clients always send ""), hides the sender from handlers, and turns a thrown
 * error into a stack trace for the client. So every call under our paths is dispatched here:
 * Introspectable, Properties and Peer included, objects resolved per call (machines come and go
 * by the thousand), and every failure mapped to a named D-Bus error with a one-line message.
 */
import { readFileSync } from 'node:fs';
import dbus from 'dbus-next';
import { INTROSPECTABLE_INTERFACE, PEER_INTERFACE, PROPERTIES_INTERFACE } from '../bus-names.js';
import { Errors, isBusError } from '../errors.js';
import { signatureOf, type InterfaceSpec, type MethodSpec } from '../interface-model.js';
import { STANDARD_INTERFACES, introspectionXml } from '../introspection.js';
import type { Logger } from './log.js';
import type { CallerLookup, CallerCredentials } from './caller.js';
import { MarshalledBody, sendMarshalledReply } from './marshalled-reply.js';

const { Message, Variant } = dbus;
type Msg = InstanceType<typeof Message>;

const NO_REPLY_EXPECTED = 0x1;
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
const METHOD_CALL = 1;

export interface CallContext {
  sender: string;
  /** The name the caller addressed (a well-known name, or our unique name). */
  destination: string;
  path: string;
  allowInteractive: boolean;
  caller(): Promise<CallerCredentials>;
}

/** The out-arguments of a method, or its body already marshalled (see marshalled-reply.ts). */
export type MethodResult = unknown[] | MarshalledBody;

// Arguments arrive already unmarshalled by dbus-next, typed by the interface table.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MethodImpl = (ctx: CallContext, ...args: any[]) => MethodResult | Promise<MethodResult>;

export interface ServedInterface {
  spec: InterfaceSpec;
  /** Methods of the table without an implementation answer NotSupported until their issue lands. */
  methods: Partial<Record<string, MethodImpl>>;
  /** Getters; one may return a promise when its value must be read (cgroup accounting, say). */
  properties: Record<string, () => unknown>;
}

export interface ServedObject {
  interfaces: ServedInterface[];
}

export interface ObjectTree {
  /** The object at path, or null if there is none (resolution may depend on the caller: `self`). */
  resolve(path: string, ctx: CallContext): ServedObject | null | Promise<ServedObject | null>;
  /** Names of the child nodes below path, for introspection and `busctl tree`. */
  children(path: string, ctx: CallContext): string[];
}

export class ObjectServer {
  private readonly machineId: string;

  constructor(
    private readonly bus: dbus.MessageBus,
    private readonly tree: ObjectTree,
    private readonly callers: CallerLookup,
    private readonly log: Logger,
  ) {
    this.machineId = readMachineId();
    bus.addMethodHandler((msg: Msg) => this.onMessage(msg));
  }

  /**
   * Broadcasts a signal, or sends it to one peer only when destination is given (a unicast
   * signal, as systemd sends RequestStop to a scope's Controller alone).
   */
  emitSignal(path: string, spec: InterfaceSpec, member: string, body: unknown[], destination?: string): void {
    const sig = spec.signals.find((s) => s.name === member);
    if (!sig) throw new Error(`${spec.name} has no signal ${member}`);
    const msg = Message.newSignal(path, spec.name, member, signatureOf(sig.args), body);
    if (destination) msg.destination = destination;
    this.bus.send(msg);
  }

  /** Returns true for every call it takes, so dbus-next never answers one itself. */
  private onMessage(msg: Msg): boolean {
    if (msg.type !== METHOD_CALL || !msg.path) return false;
    const ctx: CallContext = {
      sender: msg.sender ?? '',
      destination: msg.destination ?? '',
      path: msg.path,
      allowInteractive: (msg.flags & ALLOW_INTERACTIVE_AUTHORIZATION) !== 0,
      caller: () => this.callers.lookup(msg.sender ?? ''),
    };
    this.dispatch(msg, ctx).then(
      (reply) => this.reply(msg, reply),
      (err) => this.replyError(msg, err),
    );
    return true;
  }

  private async dispatch(msg: Msg, ctx: CallContext): Promise<{ signature: string; body: unknown[] } | MarshalledBody> {
    const iface = msg.interface ?? '';
    const member = msg.member ?? '';
    const signature = msg.signature ?? '';

    if (iface === PEER_INTERFACE || (!iface && (member === 'Ping' || member === 'GetMachineId'))) {
      if (member === 'Ping') return { signature: '', body: [] };
      if (member === 'GetMachineId') return { signature: 's', body: [this.machineId] };
    }

    const obj = await this.tree.resolve(msg.path!, ctx);
    const children = this.tree.children(msg.path!, ctx);

    if (iface === INTROSPECTABLE_INTERFACE || (!iface && member === 'Introspect')) {
      if (member !== 'Introspect') throw Errors.unknownMethod(member, iface);
      if (!obj && children.length === 0) throw Errors.unknownObject(msg.path!);
      return { signature: 's', body: [introspectionXml(obj?.interfaces.map((i) => i.spec) ?? [], children, obj !== null)] };
    }

    if (!obj) throw Errors.unknownObject(msg.path!);

    if (iface === PROPERTIES_INTERFACE) return this.properties(obj, member, signature, msg.body);

    const target = this.findMethod(obj, iface, member);
    if (!target) throw Errors.unknownMethod(member, iface || '(none)');
    const [served, spec] = target;
    const expected = signatureOf(spec.in);
    if (signature !== expected) throw Errors.invalidArguments(signature, served.spec.name, member, expected);
    const impl = served.methods[member];
    if (!impl) throw Errors.notImplemented(served.spec.name, member);
    const result = await impl(ctx, ...msg.body);
    if (result instanceof MarshalledBody) {
      if (result.signature !== signatureOf(spec.out)) throw new Error(`${member} returned a body of signature '${result.signature}'`);
      return result;
    }
    return { signature: signatureOf(spec.out), body: result };
  }

  private findMethod(obj: ServedObject, iface: string, member: string): [ServedInterface, MethodSpec] | null {
    for (const served of obj.interfaces) {
      if (iface && served.spec.name !== iface) continue;
      const spec = served.spec.methods.find((m) => m.name === member);
      if (spec) return [served, spec];
    }
    return null;
  }

  private async properties(obj: ServedObject, member: string, signature: string, body: unknown[]): Promise<{ signature: string; body: unknown[] }> {
    const std = STANDARD_INTERFACES.find((s) => s.name === PROPERTIES_INTERFACE)!;
    const spec = std.methods.find((m) => m.name === member);
    if (!spec) throw Errors.unknownMethod(member, PROPERTIES_INTERFACE);
    const expected = signatureOf(spec.in);
    if (signature !== expected) throw Errors.invalidArguments(signature, PROPERTIES_INTERFACE, member, expected);

    const ifaceName = body[0] as string;
    // An empty interface name means every interface of the object: sd-bus clients always ask that way.
    const candidates = ifaceName === '' ? obj.interfaces : obj.interfaces.filter((i) => i.spec.name === ifaceName);
    if (ifaceName !== '' && candidates.length === 0 && !STANDARD_INTERFACES.some((s) => s.name === ifaceName)) {
      throw Errors.unknownInterface(ifaceName);
    }

    if (member === 'GetAll') {
      const all: Record<string, InstanceType<typeof Variant>> = {};
      for (const served of candidates) {
        for (const p of served.spec.properties) all[p.name] = new Variant(p.type, await served.properties[p.name]!());
      }
      return { signature: 'a{sv}', body: [all] };
    }

    const propName = body[1] as string;
    for (const served of candidates) {
      const p = served.spec.properties.find((x) => x.name === propName);
      if (!p) continue;
      if (member === 'Set') throw Errors.propertyReadOnly(propName);
      return { signature: 'v', body: [new Variant(p.type, await served.properties[p.name]!())] };
    }
    throw Errors.unknownProperty(propName);
  }

  private reply(msg: Msg, reply: { signature: string; body: unknown[] } | MarshalledBody): void {
    if (msg.flags & NO_REPLY_EXPECTED) return;
    try {
      if (reply instanceof MarshalledBody) sendMarshalledReply(this.bus, msg, reply);
      else this.bus.send(Message.newMethodReturn(msg, reply.signature, reply.body));
    } catch (e) {
      // A reply that does not marshal is our bug; the client still gets a named error.
      this.log.error(`Failed to send reply to ${msg.interface}.${msg.member}: ${(e as Error).message}`);
      this.replyError(msg, Errors.failed(`Internal error replying to ${msg.member}`));
    }
  }

  private replyError(msg: Msg, err: unknown): void {
    let name: string;
    let text: string;
    if (isBusError(err)) {
      name = err.errorName;
      text = err.message;
    } else {
      const e = err as Error;
      this.log.error(`${msg.interface}.${msg.member} on ${msg.path} failed: ${e?.stack ?? String(err)}`);
      name = 'org.freedesktop.DBus.Error.Failed';
      text = `${msg.member} failed: ${e?.message ?? String(err)}`;
    }
    if (msg.flags & NO_REPLY_EXPECTED) return;
    // dbus-next declares newError with a string where it takes the message being answered.
    this.bus.send(Message.newError(msg as unknown as string, name, text));
  }
}

function readMachineId(): string {
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(f, 'utf8').trim();
      if (/^[0-9a-f]{32}$/.test(id)) return id;
    } catch {
      // try the next one
    }
  }
  return '00000000000000000000000000000000';
}
