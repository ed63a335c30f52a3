/**
 * Wiring for main.ts: the launcher this host can use (systemd-nspawn when on PATH, else the
 * built-in one with util-linux unshare), the starter and the enablement file.
 */
import type { ScopeBackend } from '@machined/cgroup';
import type { Logger } from '@machined/protocol';
import type { Config } from '../config.js';
import type { ImagePool } from '../images/pool.js';
import type { Registry } from '../registry/registry.js';
import { BuiltinLauncher } from './builtin-launcher.js';
import { Enablement } from './enablement.js';
import { findProgram } from './find-program.js';
import type { Launcher } from './launcher.js';
import { MachineStarter } from './machine-starter.js';
import { NspawnLauncher } from './nspawn-launcher.js';

export interface Launching {
  starter: MachineStarter;
  enablement: Enablement;
  log: Logger;
}

export function chooseLauncher(mode: Config['launcher'], path: string | undefined): Launcher {
  const nspawn = mode === 'builtin' ? null : findProgram('systemd-nspawn', path);
  if (nspawn) return new NspawnLauncher(nspawn);
  if (mode === 'systemd-nspawn') throw new Error('--launcher systemd-nspawn: systemd-nspawn is not on PATH');
  const unshare = findProgram('unshare', path);
  if (!unshare) throw new Error('Neither systemd-nspawn nor util-linux unshare is on PATH: machines cannot be started');
  return new BuiltinLauncher(unshare);
}

/**
 * Undefined (machines cannot be started, StartUnit answers NoSuchUnit) when `auto` finds neither
 * program; an explicit --launcher that cannot be honoured is an error.
 */
export function createLaunching(opts: { cfg: Config; registry: Registry; backend: ScopeBackend; pool: ImagePool; log: Logger }): Launching | undefined {
  const { cfg, log } = opts;
  let launcher: Launcher;
  try {
    launcher = chooseLauncher(cfg.launcher, process.env.PATH);
  } catch (e) {
    if (cfg.launcher !== 'auto') throw e;
    log.warning(`${(e as Error).message}.`);
    return undefined;
  }
  log.info(`Machines are started with ${launcher.kind === 'builtin' ? 'the built-in launcher (unshare)' : 'systemd-nspawn'}.`);
  const enablement = new Enablement(cfg.enabledUnitsFile);
  enablement.load();
  const starter = new MachineStarter({
    registry: opts.registry,
    backend: opts.backend,
    pool: opts.pool,
    launcher,
    log,
    busAddress: cfg.busAddress,
    network: cfg.machineNetwork,
    terminateTimeoutMs: cfg.terminateTimeoutMs,
  });
  return { starter, enablement, log };
}
