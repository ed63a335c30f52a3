/**
 * --network-veth for the built-in launcher, as nspawn does it: a veth pair `ve-NAME` on the host
 * and `host0` in the container's network namespace. The pair goes away by itself when the
 * namespace dies with the container (deleting one end deletes the other), so nothing is left.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
const IFNAMSIZ = 15;

/** nspawn's naming: `ve-` plus the name, or plus a hash of it when too long for an interface name. */
export function hostVethName(machine: string): string {
  const plain = `ve-${machine}`;
  if (plain.length <= IFNAMSIZ && /^[A-Za-z0-9_.-]+$/.test(machine)) return plain;
  const hash = createHash('sha256').update(machine).digest('hex').slice(0, 4);
  return `ve-${machine.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, IFNAMSIZ - 3 - 5)}-${hash}`;
}

/** Adds the pair; resolves with the host side's ifindex (the machine's NetworkInterfaces). */
export async function addVeth(machine: string, leader: number): Promise<number> {
  const host = hostVethName(machine);
  try {
    await run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', 'host0', 'netns', String(leader)]);
    await run('ip', ['link', 'set', host, 'up']);
    // Not /sys/class/net: that shows the network namespace sysfs was mounted in, not ours.
    const { stdout } = await run('ip', ['-o', 'link', 'show', 'dev', host]);
    const ifindex = Number(/^(\d+):/.exec(stdout)?.[1]);
    if (!Number.isInteger(ifindex) || ifindex <= 0) throw new Error(`cannot read the ifindex of ${host} from: ${stdout.trim()}`);
    return ifindex;
  } catch (e) {
    await run('ip', ['link', 'del', host]).catch(() => {});
    throw new Error(`Failed to add the veth pair ${host}/host0: ${(e as Error & { stderr?: string }).stderr?.trim() || (e as Error).message}`);
  }
}
