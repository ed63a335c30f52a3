/**
 * Validation of CreateMachine* / RegisterMachine* arguments, in upstream's order and with its
 * messages (method_create_or_register_machine), so a client sees the same first complaint.
 */
import { Errors, MACHINE_SLICE, machineNameIsValid, parseMachineClass, type MachineClass } from '@machined/protocol';
import { isAbsolute } from 'node:path';

export interface RawMachineRequest {
  name: string;
  id: Buffer;
  service: string;
  class: string;
  leader: number;
  rootDirectory: string;
  networkInterfaces: number[];
  /** [name, signature, value] of the caller's a(sv); absent for Register*. */
  scopeProperties: Array<[string, string, unknown]>;
}

export interface MachineRequest {
  name: string;
  id: Buffer;
  service: string;
  class: MachineClass | '';
  /** 0 means "the caller", resolved by the caller of validate. */
  leader: number;
  rootDirectory: string;
  networkInterfaces: number[];
  slice: string;
  description: string | null;
  scopeProperties: Array<[string, string, unknown]>;
}

const SLICE_NAME = /^[A-Za-z0-9:_.\\-]+\.slice$/;

export function validateMachineRequest(raw: RawMachineRequest): MachineRequest {
  if (!machineNameIsValid(raw.name)) throw Errors.invalidMachineName();
  if (raw.id.length !== 0 && raw.id.length !== 16) throw Errors.invalidMachineId();
  for (const ifindex of raw.networkInterfaces) {
    if (ifindex <= 0) throw Errors.invalidNetworkInterface(ifindex);
  }
  const cls = parseMachineClass(raw.class);
  if (cls === null) throw Errors.invalidMachineClass();
  if (raw.leader === 1) throw Errors.invalidLeader();
  if (raw.rootDirectory !== '' && !isAbsolute(raw.rootDirectory)) throw Errors.invalidRootDirectory();

  let slice = MACHINE_SLICE;
  let description: string | null = null;
  for (const [key, sig, value] of raw.scopeProperties) {
    if (key === 'Slice') {
      if (sig !== 's' || typeof value !== 'string' || !SLICE_NAME.test(value)) {
        throw Errors.invalidScopeProperty(`Invalid slice name '${String(value)}'`);
      }
      slice = value;
    } else if (key === 'Description') {
      if (sig !== 's') throw Errors.invalidScopeProperty('Description must be a string');
      description = value as string;
    }
  }

  return {
    name: raw.name,
    id: raw.id,
    service: raw.service,
    class: cls,
    leader: raw.leader,
    rootDirectory: raw.rootDirectory,
    networkInterfaces: raw.networkInterfaces,
    slice,
    description,
    scopeProperties: raw.scopeProperties,
  };
}

export function scopeDescription(name: string, cls: MachineClass | ''): string {
  return cls === 'vm' ? `Virtual Machine ${name}` : `Container ${name}`;
}
