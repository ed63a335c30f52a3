/**
 * importd as a real process (the built bundle), on a given bus, with its stderr captured. Ready
 * means org.freedesktop.import1 has an owner on that bus.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectBus, type BusClient, type SignalCollector } from './bus-client.js';
import { startDaemon, type DaemonProcess } from './daemon-process.js';
import { inTestNamespace, REPO_ROOT } from './repo-paths.js';
import { startMachined, type MachinedProcess } from './machined-process.js';
import { startPrivateBus, type PrivateBus } from './private-bus.js';
import { mergeEnv, run, runAsNobody, type RunResult } from './run-command.js';

export const IMPORT1_NAME = 'org.freedesktop.import1';

/** The pool inside run-in-namespace.sh (a private tmpfs). */
const POOL_PATH = '/var/lib/machines';

/** The deployable importd bundle that `npx nx run importd:build` writes. */
export const IMPORTD_ENTRY = join(REPO_ROOT, 'apps/importd/dist/bin/importd.mjs');

export interface ImportdOptions {
  busAddress: string;
  /** machined's --runtime-dir, where its `notices` PULL socket is. */
  runtimeDir: string;
  /** --pool-path; default /var/lib/machines, allowed only inside run-in-namespace.sh. */
  poolPath?: string;
  /** --keyring for signature verification. */
  keyring?: string;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export interface ImportdProcess extends DaemonProcess {
  poolPath: string;
}

export async function startImportd(options: ImportdOptions): Promise<ImportdProcess> {
  if (!existsSync(IMPORTD_ENTRY)) throw new Error(`${IMPORTD_ENTRY} does not exist: run "npx nx run importd:build" first`);
  if (!options.poolPath && !inTestNamespace()) {
    throw new Error('startImportd: no poolPath given and not inside e2e/run-in-namespace.sh; refusing to write the host\'s /var/lib/machines');
  }
  const poolPath = options.poolPath ?? '/var/lib/machines';
  const args = [
    IMPORTD_ENTRY,
    '--bus-address', options.busAddress,
    '--runtime-dir', options.runtimeDir,
    '--pool-path', poolPath,
    '--log-level', 'debug',
    ...(options.keyring ? ['--keyring', options.keyring] : []),
    ...(options.extraArgs ?? []),
  ];
  const env = mergeEnv({ DBUS_SYSTEM_BUS_ADDRESS: undefined, IMPORTD_KEYRING: undefined });
  const daemon = await startDaemon({ label: 'importd', args, env, busAddress: options.busAddress, busName: IMPORT1_NAME, readyTimeoutMs: options.readyTimeoutMs });
  return Object.assign(daemon, { poolPath });
}

/**
 * The set-up of an importd suite: a private bus, machined, importd (announcing pool changes to
 * that machined), a client collecting TransferNew / TransferRemoved / LogMessage, and helpers for
 * driving Debian's machinectl and reading the outcome of its transfers.
 */
export interface ImportStack {
  bus: PrivateBus;
  machined: MachinedProcess;
  importd: ImportdProcess;
  client: BusClient;
  transferNew: SignalCollector;
  transferRemoved: SignalCollector;
  logMessages: SignalCollector;
  machinectl(args: string[], options?: { asNobody?: boolean; input?: Buffer; timeoutMs?: number }): Promise<RunResult>;
}

export function useImportStack(options: { keyring?: string } = {}): ImportStack {
  const s = {} as ImportStack;
  let poolBefore = new Set<string>();
  before(async () => {
    // The test namespace's pool is shared by every suite of the run: leave it as it was found.
    poolBefore = new Set(existsSync(POOL_PATH) ? readdirSync(POOL_PATH) : []);
    s.bus = await startPrivateBus();
    s.machined = await startMachined({ busAddress: s.bus.address });
    s.importd = await startImportd({ busAddress: s.bus.address, runtimeDir: s.machined.runtimeDir, keyring: options.keyring });
    s.client = await connectBus(s.bus.address);
    s.transferNew = await s.client.collectSignals({ sender: IMPORT1_NAME, member: 'TransferNew' });
    s.transferRemoved = await s.client.collectSignals({ sender: IMPORT1_NAME, member: 'TransferRemoved' });
    s.logMessages = await s.client.collectSignals({ sender: IMPORT1_NAME, member: 'LogMessage' });
    s.machinectl = (args, o = {}) => {
      const env = { DBUS_SYSTEM_BUS_ADDRESS: s.bus.address, SYSTEMD_COLORS: '0', SYSTEMD_LOG_COLOR: '0' };
      const full = ['--no-pager', '--no-ask-password', ...args];
      const opts = { env, input: o.input, timeoutMs: o.timeoutMs ?? 60000 };
      return o.asNobody ? runAsNobody('machinectl', full, opts) : run('machinectl', full, opts);
    };
  });
  after(async () => {
    s.client?.close();
    await s.importd?.stop();
    for (const e of existsSync(POOL_PATH) ? readdirSync(POOL_PATH) : []) {
      if (poolBefore.has(e)) continue;
      // Read-only images carry the immutable flag, which rm cannot get past.
      await run('chattr', ['-i', '--', join(POOL_PATH, e)]);
      rmSync(join(POOL_PATH, e), { recursive: true, force: true });
    }
    await s.machined?.stop();
    await s.bus?.stop();
  });
  return s;
}

/** The id from machinectl's `Enqueued transfer job N.` line. */
export function enqueuedId(r: RunResult): number {
  const m = /Enqueued transfer job (\d+)\./.exec(r.stderr + r.stdout);
  if (!m) throw new Error(`machinectl started no transfer (exit ${r.code}):\n${r.stderr}${r.stdout}`);
  return Number(m[1]);
}

/**
 * Every TransferRemoved of that id, once the first has arrived. machinectl exits on the signal, and
 * our client may see it a moment later; a Ping to importd after that flushes anything it sent
 * before (a bus delivers one sender's messages to one receiver in order), so a duplicate shows.
 */
export async function removedSignals(s: ImportStack, id: number): Promise<string[]> {
  await s.transferRemoved.waitFor((m) => m.body[0] === id);
  await s.client.call(IMPORT1_NAME, '/org/freedesktop/import1', 'org.freedesktop.DBus.Peer', 'Ping');
  return s.transferRemoved.signals.filter((m) => m.body[0] === id).map((m) => m.body[2] as string);
}
