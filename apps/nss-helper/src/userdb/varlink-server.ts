/**
 * A small varlink server on a unix stream socket: calls are answered strictly in the order they
 * arrive on a connection (clients pipeline), `more` lets a handler stream replies, `oneway` calls
 * get none, and org.varlink.service (GetInfo, GetInterfaceDescription) describes what is served.
 * Protocol violations drop the connection, as systemd's implementation does.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '@machined/protocol';
import { VarlinkError, VarlinkErrors } from './varlink-errors.js';
import { VARLINK_SERVICE_DESCRIPTION } from './varlink-interfaces.js';
import { type JsonObject, type VarlinkCall, type VarlinkReply, VarlinkDecoder, VarlinkProtocolError, encodeMessage, interfaceOf, parseCall } from './varlink-wire.js';

export interface MethodContext {
  /** The caller asked for `more`: it accepts several replies. */
  more: boolean;
  /** Sends an intermediate reply (`continues: true`); only when `more` is set. */
  notify(parameters: JsonObject): void;
}

/** Returns the final reply's parameters, or throws a VarlinkError. */
export type MethodHandler = (parameters: JsonObject, ctx: MethodContext) => JsonObject | Promise<JsonObject>;

export interface VarlinkInterface {
  name: string;
  /** The interface in varlink's IDL, as GetInterfaceDescription returns it. */
  description: string;
  /** Member name (`GetUserRecord`) → handler. */
  methods: Record<string, MethodHandler>;
}

export interface ServiceInfo {
  vendor: string;
  product: string;
  version: string;
  url: string;
}

export interface VarlinkServerOptions {
  info: ServiceInfo;
  interfaces: VarlinkInterface[];
  logger?: Logger;
  /** Connections beyond this are closed at once (systemd's server has a similar cap). */
  maxConnections?: number;
}

const SERVICE_INTERFACE = 'org.varlink.service';
/** EIO: what a handler's unexpected failure looks like to the client, as systemd reports errnos. */
const EIO = 5;

export class VarlinkServer {
  private readonly interfaces = new Map<string, VarlinkInterface>();
  private readonly connections = new Set<Socket>();
  private server: Server | null = null;
  private socketPath: string | null = null;
  private socketIno: number | null = null;

  constructor(private readonly options: VarlinkServerOptions) {
    for (const i of options.interfaces) this.interfaces.set(i.name, i);
  }

  /**
   * Listens on `path` (its directory is created, mode 0755), mode `mode`. A leftover socket of a
   * dead server is replaced; a live one, or anything that is not a socket, is left alone.
   */
  async listen(path: string, mode = 0o666): Promise<void> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    await removeStaleSocket(path);
    const server = createServer({ allowHalfOpen: true }, (s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.options.logger?.error(`varlink server on ${path}: ${e.message}`));
    chmodSync(path, mode);
    this.server = server;
    this.socketPath = path;
    this.socketIno = lstatSync(path).ino;
  }

  /** Stops listening, drops every connection and removes the socket if it is still ours. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.connections) s.destroy();
    this.connections.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.socketPath !== null) {
      try {
        // Another instance may have taken the path over since: only remove our own inode.
        if (lstatSync(this.socketPath).ino === this.socketIno) unlinkSync(this.socketPath);
      } catch {
        // already gone
      }
      this.socketPath = null;
    }
  }

  private accept(socket: Socket): void {
    const max = this.options.maxConnections ?? 4096;
    if (this.connections.size >= max) {
      this.options.logger?.warning(`varlink: more than ${max} connections, refusing one`);
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    const decoder = new VarlinkDecoder();
    // Replies must leave in call order even when a handler is asynchronous.
    let queue: Promise<void> = Promise.resolve();
    let peerDone = false;
    const drop = (why: string) => {
      this.options.logger?.debug(`varlink: dropping a connection: ${why}`);
      socket.destroy();
    };
    socket.on('data', (data: Buffer) => {
      let msgs: unknown[];
      try {
        msgs = decoder.push(data);
      } catch (e) {
        drop((e as Error).message);
        return;
      }
      for (const msg of msgs) queue = queue.then(() => this.handle(socket, msg)).catch((e) => drop((e as Error).message));
    });
    // A client may shut down its sending side after the last call; answer, then close.
    socket.on('end', () => {
      peerDone = true;
      void queue.then(() => socket.end());
    });
    socket.on('error', (e) => this.options.logger?.debug(`varlink: connection error: ${e.message}`));
    socket.on('close', () => this.connections.delete(socket));
    socket.on('drain', () => {
      if (!peerDone) socket.resume();
    });
  }

  private async handle(socket: Socket, msg: unknown): Promise<void> {
    if (socket.destroyed) return;
    let call: VarlinkCall;
    try {
      call = parseCall(msg);
    } catch (e) {
      if (e instanceof VarlinkProtocolError) throw e;
      throw new VarlinkProtocolError(String(e));
    }
    const send = (reply: VarlinkReply) => {
      if (call.oneway || socket.destroyed) return;
      // A client that pipelines calls but does not read its replies must not make us buffer
      // without limit: stop reading from it until it catches up.
      if (!socket.write(encodeMessage(reply))) socket.pause();
    };
    const ctx: MethodContext = {
      more: call.more,
      notify: (parameters) => {
        if (!call.more) throw new Error(`${call.method}: notify() without 'more'`);
        send({ parameters, continues: true });
      },
    };
    try {
      const parameters = await this.dispatch(call, ctx);
      send({ parameters });
    } catch (e) {
      if (e instanceof VarlinkError) {
        send({ error: e.error, parameters: e.parameters });
      } else {
        this.options.logger?.error(`varlink: ${call.method} failed: ${(e as Error).stack ?? e}`);
        const err = VarlinkErrors.system(EIO);
        send({ error: err.error, parameters: err.parameters });
      }
    }
  }

  private dispatch(call: VarlinkCall, ctx: MethodContext): JsonObject | Promise<JsonObject> {
    const iface = interfaceOf(call.method);
    const member = call.method.slice(iface.length + 1);
    if (call.upgrade) throw VarlinkErrors.methodNotImplemented(call.method);
    if (iface === SERVICE_INTERFACE) return this.serviceMethod(member, call);
    const methods = this.interfaces.get(iface)?.methods;
    // systemd answers MethodNotFound for unknown interfaces too; clients expect that name.
    if (!methods || !Object.hasOwn(methods, member)) throw VarlinkErrors.methodNotFound(call.method);
    return methods[member]!(call.parameters, ctx);
  }

  private serviceMethod(member: string, call: VarlinkCall): JsonObject {
    const p = call.parameters;
    switch (member) {
      case 'GetInfo': {
        const extra = Object.keys(p)[0];
        if (extra !== undefined) throw VarlinkErrors.invalidParameter(extra);
        return { ...this.options.info, interfaces: [SERVICE_INTERFACE, ...this.interfaces.keys()] };
      }
      case 'GetInterfaceDescription': {
        for (const k of Object.keys(p)) if (k !== 'interface') throw VarlinkErrors.invalidParameter(k);
        if (typeof p.interface !== 'string') throw VarlinkErrors.invalidParameter('interface');
        if (p.interface === SERVICE_INTERFACE) return { description: VARLINK_SERVICE_DESCRIPTION };
        const i = this.interfaces.get(p.interface);
        if (!i) throw VarlinkErrors.interfaceNotFound(p.interface);
        return { description: i.description };
      }
      default:
        throw VarlinkErrors.methodNotFound(call.method);
    }
  }
}

/** Removes `path` if it is a socket nobody listens on; refuses to touch anything else. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; not replacing it`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another server is already listening on ${path}`);
  unlinkSync(path);
}

