/**
 * GetOSRelease: the os-release fields of a machine's OS, read through the leader's root
 * (/proc/PID/root) with symlinks resolved inside that root, so a container can never point us at
 * a file of the host. The host's own for `.host`.
 */
import { Errors } from '@machined/protocol';
import { readFileInRoot } from '../images/chase.js';
import type { Machine } from '../registry/machine.js';
import { parseEnvFile } from '../state/env-file.js';

export async function machineOsRelease(m: Machine): Promise<Record<string, string>> {
  if (m.class !== 'container' && !m.isHost) throw Errors.osReleaseOnlyContainers();
  const root = m.isHost ? '/' : `/proc/${m.leader}/root`;
  const text = (await readFileInRoot(root, '/etc/os-release').catch(() => null)) ?? (await readFileInRoot(root, '/usr/lib/os-release').catch(() => null));
  if (text === null) throw Errors.noOsRelease();
  return Object.fromEntries(parseEnvFile(text));
}
