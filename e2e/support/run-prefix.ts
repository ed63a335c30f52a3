/**
 * The name every machine of this test run carries. The final cleanup sweeps only cgroups whose
 * names contain it, so two runs on one host (other engineers' runs in the same checkout) never
 * tear down each other's machines.
 */
import { randomBytes } from 'node:crypto';

/** Lower-case letters and digits only, so it survives unit-name escaping unchanged. */
export const RUN_PREFIX = `mdt${randomBytes(3).toString('hex')}`;

let machineCounter = 0;

/** A valid, unique machine name carrying RUN_PREFIX: `mdt1a2b3c-label-1`. */
export function testMachineName(label = 'm'): string {
  machineCounter += 1;
  return `${RUN_PREFIX}-${label}-${machineCounter}`;
}
