/**
 * CopyTo / CopyFrom (and WithFlags) on a container: the machined-copy helper does the work in a
 * child process (C: openat2 RESOLVE_IN_ROOT below the leader's root, IDs through its uid/gid map,
 * temporary name and rename into place; see native/machined-copy.c). A machine whose leader shares
 * machined's root and mounts is refused: "copying into it" would write the host's own files.
 */
import { Errors } from '@machined/protocol';
import type { Machine } from '../registry/machine.js';
import { runLibexecHelper } from './helper-process.js';
import { sharesHostRoot } from './host-namespace.js';
import type { CopyPaths } from './paths.js';

/** MACHINE_COPY_REPLACE, the only public flag of the WithFlags variants. */
export const MACHINE_COPY_REPLACE = 1n;

/** Replace or not; any other bit is refused, as upstream (-EINVAL). */
export function parseCopyFlags(flags: bigint): boolean {
  if ((flags & ~MACHINE_COPY_REPLACE) !== 0n) throw Errors.invalidCopyFlags(flags);
  return (flags & MACHINE_COPY_REPLACE) !== 0n;
}

export function checkCopyMachine(m: Machine): void {
  if (m.class !== 'container') throw Errors.copyOnlyContainers();
}

export async function copyWithMachine(libexecDir: string, m: Machine, direction: 'to' | 'from', paths: CopyPaths, replace: boolean): Promise<void> {
  if (await sharesHostRoot(m.leader)) throw Errors.copyWithHostRoot(m.name);
  const args = [direction, String(m.leader), paths.hostPath, paths.containerPath];
  if (replace) args.push('--replace');
  await runLibexecHelper(libexecDir, 'machined-copy', args);
}
