/**
 * One machine: what was registered, where its processes live, and its state. Lifecycle decisions
 * (create, terminate, forget) belong to the Registry; this object holds the facts and renders
 * them for the bus, the state file and the internal channel.
 */
import type { UnitLocation } from '@machined/cgroup';
import { machineObjectPath, type MachineClass, type MachineRecord } from '@machined/protocol';
import type { DualTimestamp } from '../clock.js';
import type { MachineState } from '../state/state-file.js';

export type MachineStateName = 'opening' | 'running' | 'closing';

export interface MachineInit {
  name: string;
  id: Buffer;
  service: string;
  class: MachineClass | '';
  leader: number;
  rootDirectory: string;
  networkInterfaces: number[];
  unit: string;
  location: UnitLocation | null;
  /** True when machined created the scope (and so removes it); false when it took the caller's unit. */
  ownsScope: boolean;
  /** UID that registered the machine; owners are implicitly authorized on their own machines. */
  uid: number;
  timestamp: DualTimestamp;
  /** Caller's scope properties, kept for later issues (Controller, KillSignal, ...). */
  scopeProperties: Array<[string, string, unknown]>;
}

export class Machine {
  readonly name: string;
  readonly id: Buffer;
  readonly service: string;
  readonly class: MachineClass | '';
  readonly leader: number;
  readonly rootDirectory: string;
  readonly networkInterfaces: number[];
  readonly unit: string;
  readonly location: UnitLocation | null;
  readonly ownsScope: boolean;
  readonly uid: number;
  readonly timestamp: DualTimestamp;
  readonly scopeProperties: Array<[string, string, unknown]>;
  state: MachineStateName = 'running';
  readonly path: string;

  constructor(init: MachineInit) {
    this.name = init.name;
    this.id = init.id;
    this.service = init.service;
    this.class = init.class;
    this.leader = init.leader;
    this.rootDirectory = init.rootDirectory;
    this.networkInterfaces = init.networkInterfaces;
    this.unit = init.unit;
    this.location = init.location;
    this.ownsScope = init.ownsScope;
    this.uid = init.uid;
    this.timestamp = init.timestamp;
    this.scopeProperties = init.scopeProperties;
    this.path = machineObjectPath(init.name);
  }

  get isHost(): boolean {
    return this.class === 'host';
  }

  get idHex(): string {
    return this.id.length === 16 ? this.id.toString('hex') : '';
  }

  toState(): MachineState {
    return {
      name: this.name,
      uid: this.uid,
      unit: this.unit,
      service: this.service,
      rootDirectory: this.rootDirectory,
      id: this.idHex,
      leader: this.leader,
      class: this.class,
      realtime: this.timestamp.realtime,
      monotonic: this.timestamp.monotonic,
      networkInterfaces: this.networkInterfaces,
    };
  }

  toRecord(): MachineRecord {
    return {
      name: this.name,
      class: this.class,
      service: this.service,
      unit: this.unit,
      leader: this.leader,
      rootDirectory: this.rootDirectory,
      id: this.idHex,
      networkInterfaces: [...this.networkInterfaces],
      timestamp: this.timestamp.realtime.toString(),
      state: this.state,
    };
  }
}
