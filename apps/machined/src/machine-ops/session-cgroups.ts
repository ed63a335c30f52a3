/**
 * The cgroups a shell or login session joins: the leader's own, in the hierarchies machine scopes
 * live in (cgroup2 and v1 `name=systemd`). So the session is part of the machine: `machinectl
 * status` shows it, and terminating or killing the machine ends it too.
 */
import { join } from 'node:path';
import { detectHierarchy, readProcCgroup, type CgroupLayout } from '@machined/cgroup';

let layout: CgroupLayout | undefined;

export function sessionCgroupProcs(leader: number, cgroupLayout?: CgroupLayout): string[] {
  try {
    const l = cgroupLayout ?? (layout ??= detectHierarchy());
    const files: string[] = [];
    for (const e of readProcCgroup(leader)) {
      // A path outside our own cgroup namespace cannot be written through our mounts.
      if (e.path.split('/').includes('..')) continue;
      const mount = e.id === 0 && e.controllers.length === 0 ? l.unified : e.controllers.includes('name=systemd') ? l.systemd : undefined;
      if (mount) files.push(join(mount, e.path, 'cgroup.procs'));
    }
    return files;
  } catch {
    // No cgroup information (a leader that just exited, an odd host): the session still works.
    return [];
  }
}
