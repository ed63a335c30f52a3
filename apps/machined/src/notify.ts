/**
 * sd_notify readiness. Node cannot send on a unix datagram socket, so this hands the message to
 * systemd-notify, which exists wherever NOTIFY_SOCKET is set (only systemd sets it). `--pid` makes
 * systemd attribute the message to us rather than to the short-lived helper.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '@machined/protocol';

export function notifyReady(log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve();
  return new Promise((resolve) => {
    // --no-block: do not wait for the manager to acknowledge (a barrier), just send.
    execFile('systemd-notify', ['--ready', '--no-block', `--pid=${process.pid}`, '--status=Processing requests...'], (err) => {
      if (err) log.warning(`Failed to notify service manager of readiness: ${err.message}`);
      resolve();
    });
  });
}
