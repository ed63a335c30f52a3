/** The synthetic `.host` machine upstream always lists: the host itself, leader PID 1, root slice. */
import { readFileSync } from 'node:fs';
import { HOST_MACHINE_NAME } from '@machined/protocol';
import { bootTimestamp } from '../clock.js';
import { Machine } from './machine.js';

function hostMachineId(): Buffer {
  try {
    const hex = readFileSync('/etc/machine-id', 'utf8').trim();
    if (/^[0-9a-f]{32}$/.test(hex)) return Buffer.from(hex, 'hex');
  } catch {
    // A host without /etc/machine-id simply has no Id, as upstream reports SD_ID128_NULL.
  }
  return Buffer.alloc(0);
}

export function createHostMachine(): Machine {
  return new Machine({
    name: HOST_MACHINE_NAME,
    id: hostMachineId(),
    service: '',
    class: 'host',
    leader: 1,
    rootDirectory: '/',
    networkInterfaces: [],
    unit: '-.slice',
    location: null,
    ownsScope: false,
    uid: 0,
    timestamp: bootTimestamp(),
    scopeProperties: [],
  });
}
