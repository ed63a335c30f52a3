/** What /proc says about a process: whether it runs (zombies do not count) and who owns it. */
import { promises as fs } from 'node:fs';

export interface ProcessInfo {
  /** Real UID. */
  uid: number;
  /** Start time in clock ticks since boot: tells a recycled PID from the original. */
  startTime: bigint;
}

/** null when the process does not exist or has exited (zombie). */
export async function processInfo(pid: number, procRoot = '/proc'): Promise<ProcessInfo | null> {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let stat: string;
  let status: string;
  try {
    [stat, status] = await Promise.all([
      fs.readFile(`${procRoot}/${pid}/stat`, 'utf8'),
      fs.readFile(`${procRoot}/${pid}/status`, 'utf8'),
    ]);
  } catch {
    return null;
  }
  // comm may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X' || state === 'x') return null;
  const uidLine = /^Uid:\s+(\d+)/m.exec(status);
  return { uid: uidLine ? Number(uidLine[1]) : -1, startTime: BigInt(fields[19] ?? '0') };
}

/** Cheap liveness check for the leader poller: existing and not a zombie. */
export async function processAlive(pid: number, procRoot = '/proc'): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  try {
    const stat = await fs.readFile(`${procRoot}/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
