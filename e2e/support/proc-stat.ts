/**
 * What /proc says about a process: its group and whether it is still running. Cleanup uses it so
 * that it never signals a process group it cannot prove is one of ours.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Fields after "(comm)" of /proc/PID/stat; comm may itself contain spaces and parentheses. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The process group of pid, or undefined once it is gone. */
export function processGroupOf(pid: number | string): number | undefined {
  const fields = statFields(pid);
  return fields ? Number(fields[2]) : undefined;
}

export function leadsProcessGroup(pid: number): boolean {
  return processGroupOf(pid) === pid;
}

/** True while any process is in process group pgid. */
export function processGroupHasMembers(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (/^[0-9]+$/.test(entry) && processGroupOf(entry) === pgid) return true;
  }
  return false;
}

/** True once pid no longer runs (gone, or a zombie waiting to be reaped). */
export function processGone(pid: number): boolean {
  const fields = statFields(pid);
  return !fields || fields[0] === 'Z';
}
