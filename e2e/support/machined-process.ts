/**
 * machined as a real process (the built bundle), on a given bus, with its stderr captured.
 * Ready means what clients need: org.freedesktop.machine1 has an owner on that bus.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForNameOwner } from './bus-client.js';
import { signalTree, stopTree, track, trackPath } from './cleanup.js';
import { addFailureLog, lineCollector } from './failure-logs.js';
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

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface MachinedProcess {
  pid: number;
  child: ChildProcess;
  args: string[];
  stateDir: string;
  runtimeDir: string;
  poolPath: string;
  /** stderr (and stdout, prefixed `[stdout] `) lines so far. */
  logs(): string[];
  /** Resolves when the process has exited and its output is fully read. */
  exited: Promise<ExitInfo>;
  /** SIGTERM, then waits (SIGKILL after timeoutMs, default 15 s, and the promise rejects). */
  stop(timeoutMs?: number): Promise<ExitInfo>;
  /** SIGKILL to machined alone (not its group: a crash leaves its children as a real one would). */
  kill9(): Promise<ExitInfo>;
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

  const child = track(spawn(process.execPath, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
  const lines: string[] = [];
  child.stderr!.on('data', lineCollector(lines));
  child.stdout!.on('data', lineCollector(lines, '[stdout] '));
  const logSource = addFailureLog(`machined pid ${child.pid}`, () => lines);

  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('close', (code, signal) => {
      exitInfo = { code, signal };
      logSource.ended = true;
      resolve(exitInfo);
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });

  const logs = (): string[] => [...lines];
  const proc: MachinedProcess = {
    pid: child.pid!,
    child,
    args: args.slice(1),
    stateDir,
    runtimeDir,
    poolPath,
    logs,
    exited,
    async stop(timeoutMs = 15000) {
      if (exitInfo) return exitInfo;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => {
        timer = setTimeout(() => r('late'), timeoutMs);
      });
      const result = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (result === 'late') {
        await stopTree(child, 0);
        await exited;
        throw new Error(`machined did not exit within ${timeoutMs} ms of SIGTERM:\n${lines.join('\n')}`);
      }
      return result;
    },
    async kill9() {
      if (!exitInfo) child.kill('SIGKILL');
      return exited;
    },
  };

  if (options.waitReady === false) return proc;

  const readyTimeoutMs = options.readyTimeoutMs ?? 30000;
  try {
    await waitForNameOwner(options.busAddress, MACHINE1_NAME, readyTimeoutMs, () =>
      exitInfo ? `machined exited (${exitInfo.signal ?? `status ${exitInfo.code}`}) before owning ${MACHINE1_NAME}` : undefined,
    );
  } catch (err) {
    if (!exitInfo) signalTree(child, 'SIGKILL');
    await exited;
    throw new Error(
      `${(err as Error).message}\nmachined ${args.slice(1).join(' ')}\n--- its output ---\n${lines.join('\n')}`,
    );
  }
  return proc;
}
