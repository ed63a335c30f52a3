/**
 * One of the project's daemons as a real process (its built bundle) on a given bus, with its
 * output captured for assertions and failure reports. Ready means it owns its bus name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitForNameOwner } from './bus-client.js';
import { signalTree, stopTree, track } from './cleanup.js';
import { addFailureLog, lineCollector } from './failure-logs.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DaemonProcess {
  pid: number;
  child: ChildProcess;
  /** stderr (and stdout, prefixed `[stdout] `) lines so far. */
  logs(): string[];
  /** Resolves when the process has exited and its output is fully read. */
  exited: Promise<ExitInfo>;
  /** SIGTERM, then waits (SIGKILL after timeoutMs, default 15 s, and the promise rejects). */
  stop(timeoutMs?: number): Promise<ExitInfo>;
  /** SIGKILL to the daemon alone (not its group: a crash leaves its children as a real one would). */
  kill9(): Promise<ExitInfo>;
}

export interface DaemonSpec {
  /** `machined`, `importd`: used in messages. */
  label: string;
  /** The bundle and its arguments (run with this Node). */
  args: string[];
  env: NodeJS.ProcessEnv;
  busAddress: string;
  /** The well-known name that makes it ready. */
  busName: string;
  /** Wait for the bus name (default true); false returns as soon as the process is spawned. */
  waitReady?: boolean;
  readyTimeoutMs?: number;
}

export async function startDaemon(spec: DaemonSpec): Promise<DaemonProcess> {
  const child = track(spawn(process.execPath, spec.args, { env: spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
  const lines: string[] = [];
  child.stderr!.on('data', lineCollector(lines));
  child.stdout!.on('data', lineCollector(lines, '[stdout] '));
  const logSource = addFailureLog(`${spec.label} pid ${child.pid}`, () => lines);

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

  const proc: DaemonProcess = {
    pid: child.pid!,
    child,
    logs: () => [...lines],
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
        throw new Error(`${spec.label} did not exit within ${timeoutMs} ms of SIGTERM:\n${lines.join('\n')}`);
      }
      return result;
    },
    async kill9() {
      if (!exitInfo) child.kill('SIGKILL');
      return exited;
    },
  };

  if (spec.waitReady === false) return proc;
  try {
    await waitForNameOwner(spec.busAddress, spec.busName, spec.readyTimeoutMs ?? 30000, () =>
      exitInfo ? `${spec.label} exited (${exitInfo.signal ?? `status ${exitInfo.code}`}) before owning ${spec.busName}` : undefined,
    );
  } catch (err) {
    if (!exitInfo) signalTree(child, 'SIGKILL');
    await exited;
    throw new Error(`${(err as Error).message}\n${spec.label} ${spec.args.slice(1).join(' ')}\n--- its output ---\n${lines.join('\n')}`);
  }
  return proc;
}
