/**
 * Real systemd-nspawn containers on the private bus. nspawn registers itself with machine1
 * (CreateMachineWithNetwork, or RegisterMachineWithNetwork with --keep-unit) and unregisters when
 * the container exits (platform notes §11).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CGROUP_ROOTS } from './cgroups.js';
import { ensureCgroup, track } from './cleanup.js';
import { addFailureLog, lineCollector } from './failure-logs.js';
import type { ExitInfo } from './machined-process.js';
import { mergeEnv } from './run-command.js';
import { unitNameEscape } from '@machined/protocol';

export interface NspawnOptions {
  /** Machine name (-M); use testMachineName() so the final sweep finds its cgroups. */
  name: string;
  /** Directory given with -D. */
  rootfs: string;
  busAddress: string;
  /**
   * --keep-unit: nspawn registers its own cgroup's unit instead of asking for a scope. The process
   * is first put into system.slice/systemd-nspawn@NAME.service in both hierarchies, the unit that
   * machined will then report, as systemd would have done for the template service.
   */
  keepUnit?: boolean;
  /** --register=no when false (default true). On a host without systemd1 this needs keepUnit. */
  register?: boolean;
  /** Inserted before `--` (e.g. --private-users=pick, --bind=…). */
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** The command run as the container's PID 1. */
  command: string[];
}

export interface NspawnContainer {
  name: string;
  child: ChildProcess;
  /** nspawn's PID on the host (not the container's leader). */
  pid: number;
  exited: Promise<ExitInfo>;
  /** stdout and stderr lines (stderr prefixed `[stderr] `), as they came. */
  output(): string[];
  /** The service cgroup path (relative to a hierarchy root) when keepUnit, else undefined. */
  serviceCgroup?: string;
}

export function nspawnServiceCgroup(name: string): string {
  return `/system.slice/systemd-nspawn@${unitNameEscape(name)}.service`;
}

export function spawnNspawn(options: NspawnOptions): NspawnContainer {
  const args = [
    '-q',
    '-D', options.rootfs,
    '-M', options.name,
    ...(options.keepUnit ? ['--keep-unit'] : []),
    ...(options.register === false ? ['--register=no'] : []),
    ...(options.extraArgs ?? []),
    '--',
    ...options.command,
  ];
  const env = mergeEnv({ ...options.env, DBUS_SYSTEM_BUS_ADDRESS: options.busAddress });

  let child: ChildProcess;
  let serviceCgroup: string | undefined;
  if (options.keepUnit) {
    serviceCgroup = nspawnServiceCgroup(options.name);
    const procsFiles: string[] = [];
    for (const root of CGROUP_ROOTS) {
      const dir = ensureCgroup(join(root, serviceCgroup));
      procsFiles.push(join(dir, 'cgroup.procs'));
    }
    // The shell moves itself and then becomes nspawn, so nspawn starts inside the service cgroup.
    const script = `${procsFiles.map((_, i) => `echo $$ > "$${i + 1}"`).join(' && ')} && shift ${procsFiles.length} && exec systemd-nspawn "$@"`;
    child = spawn('sh', ['-c', script, 'sh', ...procsFiles, ...args], {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } else {
    child = spawn('systemd-nspawn', args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  track(child);

  const lines: string[] = [];
  child.stdout!.on('data', lineCollector(lines));
  child.stderr!.on('data', lineCollector(lines, '[stderr] '));
  const logSource = addFailureLog(`systemd-nspawn -M ${options.name}`, () => lines);
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (err) => {
      lines.push(`[harness] cannot start systemd-nspawn: ${err.message}`);
      logSource.ended = true;
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => {
      logSource.ended = true;
      resolve({ code, signal });
    });
  });

  return { name: options.name, child, pid: child.pid ?? -1, exited, output: () => [...lines], serviceCgroup };
}
