/**
 * Whether a machine's leader sees the host's own mounts. Copying into such a "container" would
 * write the host's files and a bind mount would land on the host itself: both are refused, since
 * a machine's owner is authorized on it without polkit and must not gain the host's root that way.
 */
import { promises as fs } from 'node:fs';

async function mountNamespaceOf(pid: number | 'self'): Promise<string | null> {
  return fs.readlink(`/proc/${pid}/ns/mnt`).catch(() => null);
}

/** Same mount namespace as machined (a gone leader: false, the helper then says what is missing). */
export async function sharesHostMountNamespace(leader: number): Promise<boolean> {
  const [ours, theirs] = await Promise.all([mountNamespaceOf('self'), mountNamespaceOf(leader)]);
  return theirs !== null && ours === theirs;
}

/** Same mount namespace and the same root directory as machined (not chroot()ed below it). */
export async function sharesHostRoot(leader: number): Promise<boolean> {
  if (!(await sharesHostMountNamespace(leader))) return false;
  const [ours, theirs] = await Promise.all([fs.stat('/proc/self/root'), fs.stat(`/proc/${leader}/root`).catch(() => null)]);
  return theirs !== null && ours.dev === theirs.dev && ours.ino === theirs.ino;
}
