/**
 * OpenRootDirectory: a file descriptor of the machine's root directory, opened through the
 * leader's /proc/PID/root so it is the container's own view of `/`. The descriptor travels to the
 * client with the reply; ours is closed once the reply has been written (dbus-next tells us no
 * "sent", and the write is synchronous unless the socket is backed up, so a short delay is enough).
 */
import { closeSync, constants, openSync } from 'node:fs';
import { Errors } from '@machined/protocol';
import type { Machine } from '../registry/machine.js';

const CLOSE_AFTER_REPLY_MS = 2000;

export function openMachineRootDirectory(m: Machine): number {
  if (m.class !== 'container' && !m.isHost) throw Errors.rootDirectoryOnlyContainers();
  const path = m.isHost ? '/' : `/proc/${m.leader}/root`;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    throw Errors.failed(`Failed to open the root directory of ${m.name}: ${(e as Error).message}`);
  }
  setTimeout(() => {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }, CLOSE_AFTER_REPLY_MS).unref();
  return fd;
}
