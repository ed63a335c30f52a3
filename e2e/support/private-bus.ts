/**
 * A private system bus: a dbus-daemon of type "system" on a socket in a fresh temporary directory,
 * with an allow-all policy, so that our daemons and systemd's real clients (machinectl, busctl,
 * systemd-nspawn, libnss_mymachines) meet there instead of on the host's bus.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopTree, track, trackPath, untrack, untrackPath } from './cleanup.js';
import { addFailureLog, lineCollector } from './failure-logs.js';

export interface PrivateBus {
  /** `unix:path=<socketPath>`: give it to servers and clients as DBUS_SYSTEM_BUS_ADDRESS. */
  address: string;
  socketPath: string;
  pid: number;
  /** The temporary directory holding the config and the socket. */
  dir: string;
  configPath: string;
  /** `{DBUS_SYSTEM_BUS_ADDRESS: address}`, to spread into a child's environment. */
  env: Record<string, string>;
  /** dbus-daemon's own stderr, for assertions and failure reports. */
  logs(): string[];
  /** Stops the daemon and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface PrivateBusOptions {
  /** XML inserted in <busconfig> after the default policy: an <include>, <includedir>, <limit>. */
  extraConfig?: string;
  /**
   * <policy> elements that replace the allow-all default policy, e.g. the stock system bus's (see
   * stockSystemBusPolicies), to test a policy file the way a real system bus applies it.
   */
  policies?: string;
  /** How long to wait for dbus-daemon to print its address. */
  timeoutMs?: number;
}

/** The allow-all policy that both sd-bus and dbus-next clients need (platform notes §1). */
export const ALLOW_ALL_POLICY =
  '<allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>';

/**
 * The <policy> elements of the host's stock system bus configuration (deny by default: no name
 * ownership, no method calls except to the bus itself), for startPrivateBus({policies}).
 */
export function stockSystemBusPolicies(systemConf = '/usr/share/dbus-1/system.conf'): string {
  const policies = readFileSync(systemConf, 'utf8').match(/<policy\b[\s\S]*?<\/policy>/g);
  if (!policies) throw new Error(`no <policy> in ${systemConf}`);
  return policies.join('\n');
}

export function privateBusConfig(socketPath: string, options: PrivateBusOptions = {}): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  ${options.policies ?? `<policy context="default">${ALLOW_ALL_POLICY}</policy>`}
  <!-- Every watching client adds match rules; many machines need far more than the stock 512. -->
  <limit name="max_match_rules_per_connection">50000</limit>
  <limit name="max_connections_per_user">10000</limit>
  <limit name="max_replies_per_connection">50000</limit>
  ${options.extraConfig ?? ''}
</busconfig>
`;
}

export async function startPrivateBus(options: PrivateBusOptions = {}): Promise<PrivateBus> {
  const dir = trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-bus-')));
  // Unprivileged clients (runAsNobody) must reach the socket, as on a real system bus.
  chmodSync(dir, 0o755);
  const socketPath = join(dir, 'system_bus_socket');
  const configPath = join(dir, 'system.conf');
  writeFileSync(configPath, privateBusConfig(socketPath, options));

  const child = track(
    spawn('dbus-daemon', [`--config-file=${configPath}`, '--nofork', '--print-address'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const stderr: string[] = [];
  child.stderr!.on('data', lineCollector(stderr));
  const logSource = addFailureLog(`dbus-daemon ${socketPath}`, () => stderr);

  let stopped = false;
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopTree(child);
    await exited;
    untrack(child);
    rmSync(dir, { recursive: true, force: true });
    untrackPath(dir);
    logSource.ended = true;
  };

  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`dbus-daemon printed no address in ${options.timeoutMs ?? 10000} ms`)),
        options.timeoutMs ?? 10000,
      );
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`dbus-daemon exited (${signal ?? code}) before it was ready`));
      });
      // The address is printed once the socket listens, so connecting right after cannot race.
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${stderr.join('\n')}`);
  }

  const address = `unix:path=${socketPath}`;
  return {
    address,
    socketPath,
    pid: child.pid!,
    dir,
    configPath,
    env: { DBUS_SYSTEM_BUS_ADDRESS: address },
    logs: () => [...stderr],
    stop,
  };
}
