/**
 * GetUnitProcesses: every process of a unit with the cgroup it sits in and its command line, as
 * systemd reports them; `machinectl status` draws its process tree from this.
 */
import { readFileSync } from 'node:fs';
import { readProcCgroup, systemdCgroupPath, type ScopeBackend, type UnitLocation } from '@machined/cgroup';

function commandLine(pid: number): string | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const argv = raw.split('\0').filter((a) => a !== '');
    if (argv.length > 0) return argv.join(' ');
    // Kernel threads and exiting processes have no command line; systemd shows [comm] then.
    return `[${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}]`;
  } catch {
    return null;
  }
}

export async function unitProcesses(backend: ScopeBackend, location: UnitLocation): Promise<Array<[string, number, string]>> {
  const out: Array<[string, number, string]> = [];
  for (const pid of await backend.members(location)) {
    let cgroup: string | undefined;
    try {
      cgroup = systemdCgroupPath(readProcCgroup(pid), backend.hierarchy);
    } catch {
      continue; // gone meanwhile
    }
    const cmd = commandLine(pid);
    if (cgroup === undefined || cmd === null) continue;
    out.push([cgroup, pid, cmd]);
  }
  return out;
}
