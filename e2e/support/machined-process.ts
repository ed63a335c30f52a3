/**
 * machined as a real process (the built bundle), on a given bus, with its stderr captured.
 * Ready means what clients need: org.freedesktop.machine1 has an owner on that bus.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackPath } from './cleanup.js';
import { startDaemon, type DaemonProcess, type ExitInfo } from './daemon-process.js';
import { inTestNamespace, MACHINED_ENTRY } from './repo-paths.js';
import { mergeEnv } from './run-command.js';

export const MACHINE1_NAME = 'org.freedesktop.machine1';

export interface MachinedOptions {
  busAddress: string;
  /**
   * --state-dir. Default /run/systemd/machines, where sd-login and libnss_mymachines look; allowed
   * only inside run-in-namespace.sh, where that is a private tmpfs.
   */
  stateDir?: string;
  /** --runtime-dir (ZeroMQ sockets). Default: a fresh temporary directory. */
  runtimeDir?: string;
  /** --pool-path. Default /var/lib/machines, again only inside the test namespace. */
  poolPath?: string;
  /** Appended after the flags above; a --log-level here replaces the default debug. */
  extraArgs?: string[];
  /** Merged over process.env (NOTIFY_SOCKET and DBUS_SYSTEM_BUS_ADDRESS are cleared first). */
  env?: NodeJS.ProcessEnv;
  /** How long machined may take to own its name; default 30 s. */
  readyTimeoutMs?: number;
  /** Wait for the bus name (default true); false returns as soon as the process is spawned. */
  waitReady?: boolean;
  /** The script to run instead of apps/machined/dist/bin/machined.mjs (harness self-tests). */
  entry?: string;
}

export type { ExitInfo };

export interface MachinedProcess extends DaemonProcess {
  args: string[];
  stateDir: string;
  runtimeDir: string;
  poolPath: string;
}

function requireNamespace(what: string): void {
  if (!inTestNamespace()) {
    throw new Error(
      `startMachined: no ${what} given and not inside e2e/run-in-namespace.sh; refusing to let ` +
        `machined write the host's real ${what}`,
    );
  }
}

export async function startMachined(options: MachinedOptions): Promise<MachinedProcess> {
  const entry = options.entry ?? MACHINED_ENTRY;
  if (!existsSync(entry)) {
    throw new Error(`${entry} does not exist: run "npx nx run machined:build" first`);
  }
  if (!options.stateDir) requireNamespace('state directory (/run/systemd/machines)');
  if (!options.poolPath) requireNamespace('image pool (/var/lib/machines)');
  const stateDir = options.stateDir ?? '/run/systemd/machines';
  const poolPath = options.poolPath ?? '/var/lib/machines';
  const runtimeDir = options.runtimeDir ?? trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-run-')));

  const extra = options.extraArgs ?? [];
  const args = [
    entry,
    '--bus-address', options.busAddress,
    '--state-dir', stateDir,
    '--runtime-dir', runtimeDir,
    '--pool-path', poolPath,
    // Only the pool: the host's /etc/machines, /run/machines and /usr/…/machines stay out of tests.
    ...(extra.some((a) => a.startsWith('--image-search-path')) ? [] : ['--image-search-path', poolPath]),
    ...(extra.some((a) => a.startsWith('--log-level')) ? [] : ['--log-level', 'debug']),
    ...extra,
  ];
  const env = mergeEnv({ NOTIFY_SOCKET: undefined, DBUS_SYSTEM_BUS_ADDRESS: undefined, ...options.env });

  const daemon = await startDaemon({
    label: 'machined',
    args,
    env,
    busAddress: options.busAddress,
    busName: MACHINE1_NAME,
    waitReady: options.waitReady,
    readyTimeoutMs: options.readyTimeoutMs,
  });
  return Object.assign(daemon, { args: args.slice(1), stateDir, runtimeDir, poolPath });
}
