/**
 * Replies whose body was marshalled once and is sent again as bytes. dbus-next's generic
 * marshaller needs about 4.5 ms for ListMachines at 1000 machines (every call, on the one
 * thread); marshalling the body only when the machine list changes takes that off the read path.
 *
 * This reaches into dbus-next 0.10's message layer (lib/message.js, lib/marshall-compat.js) and
 * its connection's stream; the version is pinned in package.json and the e2e suites exercise the
 * path with real sd-bus clients.
 */
import dbus from 'dbus-next';
// Internal modules of dbus-next (no type declarations).
// @ts-expect-error untyped internal module
import * as messageLayer from 'dbus-next/lib/message.js';
// @ts-expect-error untyped internal module
import * as marshallCompat from 'dbus-next/lib/marshall-compat.js';

const METHOD_RETURN = 2;
type Msg = InstanceType<typeof dbus.Message>;

interface MessageLayer {
  marshall(message: Record<string, unknown>): [Buffer, number[]];
}
interface MarshallCompat {
  marshallMessage(message: Msg): [Buffer, number[]];
}
const { marshall } = ((messageLayer as { default?: MessageLayer }).default ?? messageLayer) as MessageLayer;
const { marshallMessage } = ((marshallCompat as { default?: MarshallCompat }).default ?? marshallCompat) as MarshallCompat;

/** A reply body, already in wire format. It starts 8-aligned in any message, as a body must. */
export class MarshalledBody {
  constructor(
    readonly signature: string,
    readonly data: Buffer,
  ) {}
}

/** Marshals body (JS values, as dbus-next takes them) for signature, once. */
export function marshalBody(signature: string, body: unknown[]): MarshalledBody {
  // dbus-next's typings disagree with its run time (MessageType numbered from 0, replySerial a
  // string); on the wire METHOD_RETURN is 2 and serials are numbers.
  const probe = new dbus.Message({ type: METHOD_RETURN, serial: 1, replySerial: 1, signature, body } as never);
  const [wire] = marshallMessage(probe);
  const bodyLength = wire.readUInt32LE(4);
  return new MarshalledBody(signature, Buffer.from(wire.subarray(wire.length - bodyLength)));
}

interface RawConnection {
  stream: { writable: boolean; supportsUnixFd?: boolean; write(chunk: unknown): boolean };
}

/** Sends a METHOD_RETURN to msg with a pre-marshalled body. */
export function sendMarshalledReply(bus: dbus.MessageBus, msg: Msg, body: MarshalledBody): void {
  const serial = (bus as unknown as { newSerial(): number }).newSerial();
  const [header] = marshall({
    type: METHOD_RETURN,
    flags: 0,
    serial,
    replySerial: msg.serial,
    destination: msg.sender,
    signature: body.signature,
  });
  // The header was marshalled without a body: fill in the body length (bytes 4–7, little endian).
  header.writeUInt32LE(body.data.length, 4);
  const data = Buffer.concat([header, body.data]);
  const { stream } = (bus as unknown as { _connection: RawConnection })._connection;
  if (!stream.writable) throw new Error('Cannot send reply: the bus connection is closed');
  stream.write(stream.supportsUnixFd ? { data, fds: [] } : data);
}
