/**
 * The internal channel between the project's daemons (ZeroMQ over ipc:// sockets in a root-only
 * runtime directory). machined publishes machine events and answers snapshot requests; importd
 * sends pool-changed notices. Every message is JSON with a version and a sequence number, and is
 * checked with parseChannelMessage on arrival: a peer of another version is rejected, not guessed at.
 */
import { join } from 'node:path';
import { MACHINE_CLASSES } from './names.js';

export const CHANNEL_VERSION = 1;

/** Socket file names inside the runtime directory. */
export const ChannelSockets = {
  /** machined PUB: machine events. */
  events: 'events.sock',
  /** machined REP: snapshot requests. */
  snapshot: 'snapshot.sock',
  /** machined PULL: notices from importd. */
  notices: 'notices.sock',
} as const;

export function channelEndpoint(runtimeDir: string, socket: keyof typeof ChannelSockets): string {
  return `ipc://${join(runtimeDir, ChannelSockets[socket])}`;
}

/** What subscribers learn about a machine. Numbers that may exceed 2^53 travel as decimal strings. */
export interface MachineRecord {
  name: string;
  class: string;
  service: string;
  unit: string;
  leader: number;
  rootDirectory: string;
  /** 32 lowercase hex digits, or '' when the machine has no id. */
  id: string;
  networkInterfaces: number[];
  /** CLOCK_REALTIME µs, decimal. */
  timestamp: string;
  state: 'opening' | 'running' | 'closing';
}

export type ChannelMessage =
  | { v: 1; type: 'machine.new'; seq: number; machine: MachineRecord }
  | { v: 1; type: 'machine.changed'; seq: number; machine: MachineRecord }
  | { v: 1; type: 'machine.removed'; seq: number; name: string }
  | { v: 1; type: 'snapshot.request' }
  | { v: 1; type: 'snapshot'; seq: number; machines: MachineRecord[] }
  | { v: 1; type: 'pool.changed'; image?: string };

export type ChannelMessageType = ChannelMessage['type'];

export class ChannelMessageError extends Error {
  constructor(message: string) {
    super(`invalid internal channel message: ${message}`);
    this.name = 'ChannelMessageError';
  }
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown): x is string => typeof x === 'string';
const isUint = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

function checkMachineRecord(x: unknown, where: string): MachineRecord {
  if (!isObj(x)) throw new ChannelMessageError(`${where} is not an object`);
  for (const k of ['name', 'class', 'service', 'unit', 'rootDirectory', 'id', 'timestamp', 'state'] as const) {
    if (!isStr(x[k])) throw new ChannelMessageError(`${where}.${k} must be a string`);
  }
  if (!isUint(x.leader)) throw new ChannelMessageError(`${where}.leader must be a non-negative integer`);
  if (!Array.isArray(x.networkInterfaces) || !x.networkInterfaces.every(isUint)) {
    throw new ChannelMessageError(`${where}.networkInterfaces must be an array of integers`);
  }
  if (!['', 'host', ...MACHINE_CLASSES].includes(x.class as string)) throw new ChannelMessageError(`${where}.class '${x.class}' unknown`);
  if (!['opening', 'running', 'closing'].includes(x.state as string)) throw new ChannelMessageError(`${where}.state '${x.state}' unknown`);
  if (!/^([0-9a-f]{32})?$/.test(x.id as string)) throw new ChannelMessageError(`${where}.id must be 32 hex digits or empty`);
  if (!/^[0-9]+$/.test(x.timestamp as string)) throw new ChannelMessageError(`${where}.timestamp must be decimal`);
  return x as unknown as MachineRecord;
}

/** Validates a decoded message; throws ChannelMessageError naming the first problem. */
export function checkChannelMessage(x: unknown): ChannelMessage {
  if (!isObj(x)) throw new ChannelMessageError('not an object');
  if (x.v !== CHANNEL_VERSION) throw new ChannelMessageError(`version ${String(x.v)}, expected ${CHANNEL_VERSION}`);
  switch (x.type) {
    case 'machine.new':
    case 'machine.changed':
      if (!isUint(x.seq)) throw new ChannelMessageError('seq must be a non-negative integer');
      checkMachineRecord(x.machine, 'machine');
      break;
    case 'machine.removed':
      if (!isUint(x.seq)) throw new ChannelMessageError('seq must be a non-negative integer');
      if (!isStr(x.name)) throw new ChannelMessageError('name must be a string');
      break;
    case 'snapshot.request':
      break;
    case 'snapshot':
      if (!isUint(x.seq)) throw new ChannelMessageError('seq must be a non-negative integer');
      if (!Array.isArray(x.machines)) throw new ChannelMessageError('machines must be an array');
      x.machines.forEach((m, i) => checkMachineRecord(m, `machines[${i}]`));
      break;
    case 'pool.changed':
      if (x.image !== undefined && !isStr(x.image)) throw new ChannelMessageError('image must be a string');
      break;
    default:
      throw new ChannelMessageError(`unknown type ${JSON.stringify(x.type)}`);
  }
  return x as unknown as ChannelMessage;
}

export function encodeChannelMessage(m: ChannelMessage): Buffer {
  return Buffer.from(JSON.stringify(checkChannelMessage(m)));
}

export function parseChannelMessage(data: Buffer | string): ChannelMessage {
  let decoded: unknown;
  try {
    decoded = JSON.parse(data.toString());
  } catch {
    throw new ChannelMessageError('not JSON');
  }
  return checkChannelMessage(decoded);
}
