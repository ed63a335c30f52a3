/**
 * Helpers for suites that talk to machine1: real leader processes, CreateMachine/RegisterMachine
 * through dbus-next with the signatures from libs/protocol, and polling for a condition.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dbus from 'dbus-next';
import {
  MACHINE1_BUS_NAME,
  MACHINE1_MACHINE_INTERFACE,
  MACHINE1_MANAGER_INTERFACE,
  MACHINE1_PATH,
  MANAGER_INTERFACE,
  findMethod,
  machineObjectPath,
  signatureOf,
} from '@machined/protocol';
import { connectBus, type BusClient } from './bus-client.js';
import { track } from './cleanup.js';
import { startMachined, type MachinedOptions, type MachinedProcess } from './machined-process.js';
import { startPrivateBus, type PrivateBus } from './private-bus.js';

/** A `sleep` to serve as a machine's leader; tracked, so it dies with the run whatever happens. */
export async function spawnLeader(seconds = 3600): Promise<ChildProcess> {
  const child = track(spawn('sleep', [String(seconds)], { detached: true, stdio: 'ignore' }));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  return child;
}

export interface MachineArgs {
  id?: Buffer;
  service?: string;
  class?: string;
  rootDirectory?: string;
  ifindices?: number[];
  scopeProperties?: Array<[string, string, unknown]>;
}

const sig = (member: string) => signatureOf(findMethod(MANAGER_INTERFACE, member)!.in);

/** Calls a Manager method with the signature the protocol table gives it. */
export function callManager(client: BusClient, member: string, body: unknown[], signature = sig(member)): Promise<unknown[]> {
  return client.call(MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_INTERFACE, member, signature, body);
}

function createBody(name: string, leader: number, a: MachineArgs): unknown[] {
  return [name, a.id ?? randomBytes(16), a.service ?? 'e2e', a.class ?? 'container', leader, a.rootDirectory ?? ''];
}

export async function createMachine(client: BusClient, name: string, leader: number, a: MachineArgs = {}): Promise<string> {
  const props = (a.scopeProperties ?? []).map(([k, s, v]) => [k, new dbus.Variant(s, v)]);
  const [path] = a.ifindices
    ? await callManager(client, 'CreateMachineWithNetwork', [...createBody(name, leader, a), a.ifindices, props])
    : await callManager(client, 'CreateMachine', [...createBody(name, leader, a), props]);
  return path as string;
}

export async function registerMachine(client: BusClient, name: string, leader: number, a: MachineArgs = {}): Promise<string> {
  const [path] = await callManager(client, 'RegisterMachine', createBody(name, leader, a));
  return path as string;
}

/** Names of the machines ListMachines reports. */
export async function listMachineNames(client: BusClient): Promise<string[]> {
  const [machines] = await callManager(client, 'ListMachines', []);
  return (machines as Array<[string]>).map((m) => m[0]);
}

/** A registered machine's Leader property: the PID of its leader process. */
export async function machineLeader(client: BusClient, name: string): Promise<number> {
  const [leader] = await client.call(MACHINE1_BUS_NAME, machineObjectPath(name), 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MACHINE1_MACHINE_INTERFACE, 'Leader']);
  return leader.value as number;
}

/** `machinectl show`'s (or `show-image`'s) KEY=VALUE lines as a record. */
export function parseShowOutput(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** Polls fn until it returns a truthy value; rejects with what after timeoutMs. */
export async function waitUntil<T>(fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, what: string, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The D-Bus error name of a rejected call (dbus-next's DBusError carries it as `type`). */
export async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { type?: string; text?: string; message?: string };
    return { name: err.type ?? 'no D-Bus error name', message: err.text ?? err.message ?? '' };
  }
  throw new Error('expected the call to fail, it succeeded');
}

export interface Stack {
  bus: PrivateBus;
  machined: MachinedProcess;
  client: BusClient;
}

/**
 * The usual set-up of a suite: a private bus, machined on it and a client, started before the
 * suite's tests and stopped after them. The fields are filled in by the before() hook; a test may
 * replace `machined` (a restart) and the after() hook stops whichever runs then.
 */
export function useStack(options: Omit<MachinedOptions, 'busAddress'> = {}, setup?: (bus: PrivateBus) => Promise<void>): Stack {
  const stack = {} as Stack;
  before(async () => {
    stack.bus = await startPrivateBus();
    await setup?.(stack.bus);
    stack.machined = await startMachined({ busAddress: stack.bus.address, ...options });
    stack.client = await connectBus(stack.bus.address);
  });
  after(async () => {
    stack.client?.close();
    await stack.machined?.stop();
    await stack.bus?.stop();
  });
  return stack;
}
