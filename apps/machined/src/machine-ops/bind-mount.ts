/**
 * BindMount on a container: the machined-mount helper clones the host directory as a detached
 * mount and attaches it inside the leader's mount namespace (native/machined-mount.c). As
 * upstream, containers with a user namespace are refused: the mounted files would show up with
 * unmapped owners.
 */
import { Errors } from '@machined/protocol';
import type { Machine } from '../registry/machine.js';
import { machineUidShift } from '../machine-info/uid-shift.js';
import { runLibexecHelper } from './helper-process.js';
import { sharesHostMountNamespace } from './host-namespace.js';

export function checkBindMachine(m: Machine): void {
  if (m.class !== 'container') throw Errors.bindOnlyContainers();
}

export async function bindMountIntoMachine(
  libexecDir: string,
  m: Machine,
  source: string,
  destination: string,
  readOnly: boolean,
  mkdir: boolean,
): Promise<void> {
  if (machineUidShift(m) !== 0) throw Errors.bindWithUserNamespace();
  if (await sharesHostMountNamespace(m.leader)) throw Errors.bindIntoHostNamespace(m.name);
  const args = [String(m.leader), source, destination];
  if (readOnly) args.push('--read-only');
  if (mkdir) args.push('--mkdir');
  await runLibexecHelper(libexecDir, 'machined-mount', args);
}
