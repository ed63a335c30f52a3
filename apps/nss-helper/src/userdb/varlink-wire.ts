/**
 * Varlink on the wire: JSON objects, each terminated by one NUL byte, over a unix stream socket.
 * A call is `{method, parameters?, oneway?, more?, upgrade?}`; a reply is `{parameters}` (with
 * `continues: true` while more replies follow) or `{error, parameters}`. This file only frames and
 * validates; what the methods mean lives in the server and the userdb adapter.
 */

/** systemd's VARLINK_BUFFER_MAX: a peer that sends more without a NUL is broken or hostile. */
export const VARLINK_MESSAGE_MAX = 16 * 1024 * 1024;

export type JsonObject = Record<string, unknown>;

export interface VarlinkCall {
  method: string;
  parameters: JsonObject;
  oneway: boolean;
  more: boolean;
  upgrade: boolean;
}

export interface VarlinkReply {
  parameters?: JsonObject;
  continues?: boolean;
  error?: string;
}

/** A peer broke the protocol: the connection is dropped, as systemd's varlink does. */
export class VarlinkProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VarlinkProtocolError';
  }
}

export const isJsonObject = (x: unknown): x is JsonObject => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Splits a byte stream into messages. Bytes are collected until a NUL arrives, so a message cut
 * anywhere by the kernel (even inside a multi-byte UTF-8 character) is decoded whole.
 */
export class VarlinkDecoder {
  private chunks: Buffer[] = [];
  private pending = 0;

  constructor(private readonly max = VARLINK_MESSAGE_MAX) {}

  /** Returns the complete messages in `data`, parsed; throws VarlinkProtocolError on garbage. */
  push(data: Buffer): unknown[] {
    const out: unknown[] = [];
    let start = 0;
    for (;;) {
      const nul = data.indexOf(0, start);
      if (nul < 0) break;
      const part = data.subarray(start, nul);
      const whole = this.chunks.length > 0 ? Buffer.concat([...this.chunks, part]) : part;
      this.chunks = [];
      this.pending = 0;
      if (whole.length > this.max) throw new VarlinkProtocolError(`message of ${whole.length} bytes exceeds ${this.max}`);
      out.push(parseJson(whole));
      start = nul + 1;
    }
    if (start < data.length) {
      const rest = data.subarray(start);
      this.pending += rest.length;
      if (this.pending > this.max) throw new VarlinkProtocolError(`more than ${this.max} bytes without a message terminator`);
      // Copy: the caller's buffer may be reused by the stream.
      this.chunks.push(Buffer.from(rest));
    }
    return out;
  }
}

function parseJson(bytes: Buffer): unknown {
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let s: string;
  try {
    s = text.decode(bytes);
  } catch {
    throw new VarlinkProtocolError('message is not valid UTF-8');
  }
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new VarlinkProtocolError(`message is not valid JSON: ${(e as Error).message}`);
  }
}

const CALL_KEYS = new Set(['method', 'parameters', 'oneway', 'more', 'upgrade']);

/**
 * Validates a call as systemd's varlink server does: unknown top-level keys, a missing method,
 * non-boolean flags or `oneway` together with `more` are protocol violations, not method errors.
 */
export function parseCall(msg: unknown): VarlinkCall {
  if (!isJsonObject(msg)) throw new VarlinkProtocolError('a call must be a JSON object');
  for (const k of Object.keys(msg)) {
    if (!CALL_KEYS.has(k)) throw new VarlinkProtocolError(`unexpected key '${k}' in call`);
  }
  const { method, parameters } = msg;
  if (typeof method !== 'string' || !methodNameIsValid(method)) throw new VarlinkProtocolError(`invalid method name ${JSON.stringify(method)}`);
  if (parameters !== undefined && parameters !== null && !isJsonObject(parameters)) throw new VarlinkProtocolError('parameters must be an object');
  const flag = (k: 'oneway' | 'more' | 'upgrade'): boolean => {
    const v = msg[k];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw new VarlinkProtocolError(`'${k}' must be a boolean`);
    return v;
  };
  const call = { method, parameters: (parameters ?? {}) as JsonObject, oneway: flag('oneway'), more: flag('more'), upgrade: flag('upgrade') };
  if (call.oneway && call.more) throw new VarlinkProtocolError("'oneway' and 'more' exclude each other");
  return call;
}

/** `interface.Method`: a reverse-domain interface name, a dot, a capitalised member name. */
export function methodNameIsValid(s: string): boolean {
  return /^[A-Za-z](?:-*[A-Za-z0-9])*(?:\.[A-Za-z0-9](?:-*[A-Za-z0-9])*)+\.[A-Z][A-Za-z0-9]*$/.test(s);
}

/** The interface part of `interface.Method`. */
export function interfaceOf(method: string): string {
  return method.slice(0, method.lastIndexOf('.'));
}

export function encodeMessage(reply: VarlinkReply): Buffer {
  return Buffer.concat([Buffer.from(JSON.stringify(reply), 'utf8'), Buffer.from([0])]);
}
