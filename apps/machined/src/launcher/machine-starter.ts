/**
 * Starting pool images as `systemd-nspawn@NAME.service`, what systemd does for the template unit
 * where PID 1 is systemd: the launcher (systemd-nspawn, or the built-in one) runs inside the
 * unit's own cgroup `machine.slice/systemd-nspawn@NAME.service`, created before it runs a single
 * instruction (a gate on fd 3 holds it back until it has been moved in), so the machine registers
 * with that unit (nspawn --keep-unit: RegisterMachineWithNetwork) and everything it forks is
 * inside. The unit is active once the machine is registered, and gone, cgroup removed, once the
 * launcher has exited and its cgroup emptied.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import type { ScopeBackend, UnitLocation } from '@machined/cgroup';
import { MACHINE_SLICE, isBusError, type Logger } from '@machined/protocol';
import type { ImagePool } from '../images/pool.js';
import type { Machine } from '../registry/machine.js';
import type { Registry } from '../registry/registry.js';
import type { Launcher, MachineNetwork } from './launcher.js';
import { addVeth } from './veth.js';

export type StartedState = 'activating' | 'active' | 'deactivating';

export interface StartedUnit {
  readonly unit: string;
  readonly name: string;
  readonly launcher: Launcher['kind'];
  /** The launcher's PID (systemd-nspawn or unshare): the service's MainPID. */
  readonly mainPid: number;
  readonly location: UnitLocation;
  state: StartedState;
  /** Resolves true once the machine registered, false when the launcher exited first. */
  readonly registered: Promise<boolean>;
  /** Resolves once the launcher has exited and the unit's cgroup is gone. */
  readonly gone: Promise<void>;
}

interface Running extends StartedUnit {
  child: ChildProcess;
  stopRequested: boolean;
  killTimer: NodeJS.Timeout | null;
  secondTerm?: NodeJS.Timeout;
  markRegistered(ok: boolean): void;
  markGone(): void;
}

export interface MachineStarterOptions {
  registry: Registry;
  backend: ScopeBackend;
  pool: ImagePool;
  launcher: Launcher;
  log: Logger;
  busAddress: string;
  network: MachineNetwork;
  /** SIGKILL for what is left this long after a stop (machined's --terminate-timeout). */
  terminateTimeoutMs: number;
}

/** sh as the gate: wait for machined's go on fd 3 (it moved us into the cgroup), then become the launcher. */
const GATE = 'read -r _ <&3 || exit 1; exec "$@"';
/** nspawn does not take part in the handshake: fds 3 and 4 are closed before it runs. */
const GATE_CLOSING = 'read -r _ <&3 || exit 1; exec 3<&- 4>&-; exec "$@"';
const STDERR_LINES = 20;

export class StartError extends Error {}

export class MachineStarter extends EventEmitter<{ changed: [StartedUnit]; gone: [StartedUnit] }> {
  private readonly units = new Map<string, Running>();
  private readonly pending = new Map<string, Promise<StartedUnit>>();

  constructor(private readonly opts: MachineStarterOptions) {
    super();
    opts.registry.on('added', (m) => {
      const s = this.units.get(m.unit);
      if (s && m.name === s.name) s.markRegistered(true);
    });
  }

  get kind(): Launcher['kind'] {
    return this.opts.launcher.kind;
  }

  get(unit: string): StartedUnit | undefined {
    return this.units.get(unit);
  }

  list(): StartedUnit[] {
    return [...this.units.values()];
  }

  /**
   * Launches the image NAME as UNIT. Rejects with StartError (nothing left behind) when it cannot
   * even be launched: no such image, a machine of that name runs already, the cgroup cannot be made.
   */
  start(name: string, unit: string): Promise<StartedUnit> {
    // A second start while the first is still launching joins it, as systemd merges start jobs.
    const pending = this.pending.get(unit);
    if (pending) return pending;
    const launching = this.launch(name, unit).finally(() => this.pending.delete(unit));
    this.pending.set(unit, launching);
    return launching;
  }

  private async launch(name: string, unit: string): Promise<StartedUnit> {
    if (this.units.has(unit)) throw new StartError(`${unit} is already being started or stopped`);
    if (this.opts.registry.find(name)) throw new StartError(`Machine '${name}' already exists`);
    const image = await this.opts.pool.find(name);
    if (!image) throw new StartError(`No image '${name}' in the image search path`);
    let command;
    try {
      command = this.opts.launcher.command({ name, image, network: this.opts.network, busAddress: this.opts.busAddress });
    } catch (e) {
      throw new StartError(isBusError(e) ? e.message : String(e));
    }

    const child = spawn('/bin/sh', ['-c', command.handshake ? GATE : GATE_CLOSING, 'machined-gate', ...command.argv], {
      env: command.env,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    const stderr: string[] = [];
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('error', (e) => {
        stderr.push(`cannot run /bin/sh: ${e.message}`);
        resolve({ code: null, signal: null });
      });
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    if (child.pid === undefined) {
      await exited;
      throw new StartError(`Failed to start ${unit}: ${stderr.join('; ')}`);
    }
    this.collectStderr(child, unit, stderr);

    let location: UnitLocation;
    try {
      location = await this.opts.backend.createScope({
        unit,
        slice: MACHINE_SLICE,
        description: `Container ${name}`,
        pids: [child.pid],
        properties: [],
      });
    } catch (e) {
      child.kill('SIGKILL');
      await exited;
      throw new StartError(`Failed to create the cgroup of ${unit}: ${(e as Error).message}`);
    }

    let markRegistered!: (ok: boolean) => void;
    let markGone!: () => void;
    const registered = new Promise<boolean>((r) => (markRegistered = r));
    const gone = new Promise<void>((r) => (markGone = r));
    const s: Running = {
      unit,
      name,
      launcher: this.opts.launcher.kind,
      mainPid: child.pid,
      location,
      state: 'activating',
      registered,
      gone,
      child,
      stopRequested: false,
      killTimer: null,
      markRegistered: (ok) => {
        if (ok && s.state === 'activating') {
          s.state = 'active';
          this.emit('changed', s);
        }
        markRegistered(ok);
      },
      markGone,
    };
    this.units.set(unit, s);
    this.opts.log.info(`Starting ${unit} with ${this.opts.launcher.kind} (PID ${child.pid}).`);

    void exited.then((how) => this.onExit(s, how, stderr));
    const gate = child.stdio[3] as NodeJS.WritableStream;
    gate.on('error', () => {}); // EPIPE once the launcher is gone: its exit is handled above
    gate.write('go\n');
    if (command.handshake) this.handshake(s, image.path, command.idMap, gate, child.stdio[4] as NodeJS.ReadableStream);
    return s;
  }

  /** Stops a started unit: the machine's own stop when it registered, else the launcher. */
  stop(unit: string): boolean {
    const s = this.units.get(unit);
    if (!s) return false;
    s.stopRequested = true;
    if (s.state === 'deactivating') return true;
    s.state = 'deactivating';
    this.emit('changed', s);
    const m = this.opts.registry.findByUnit(unit);
    if (m && m.name === s.name) {
      void this.opts.registry.terminate(m).catch((e: Error) => this.opts.log.warning(`Stopping ${m.name} failed: ${e.message}`));
    } else {
      this.signalMain(s, 'SIGTERM');
      this.armKill(s);
    }
    return true;
  }

  /**
   * Registry stop requester for machines we launched with nspawn: like systemd's stop of the
   * service (KillMode=mixed), SIGTERM goes to nspawn only, which asks the container's init to halt
   * (SIGRTMIN+3) and exits when it has. nspawn --keep-unit does not listen for RequestStop, and an
   * init that ignores SIGRTMIN+3 (busybox) never halts: half-way through the timeout nspawn gets a
   * second SIGTERM, on which it kills the container itself and unregisters cleanly; the registry
   * SIGKILLs whatever is left at the full timeout. The built-in launcher's machines get SIGTERM
   * everywhere (false), which busybox's init takes as "reboot": it ends the PID namespace.
   */
  requestStop(m: Machine): boolean {
    const s = this.units.get(m.unit);
    if (!s || s.name !== m.name) return false;
    s.stopRequested = true;
    if (s.state !== 'deactivating') {
      s.state = 'deactivating';
      this.emit('changed', s);
    }
    if (s.launcher !== 'systemd-nspawn') return false;
    this.signalMain(s, 'SIGTERM');
    s.secondTerm ??= setTimeout(() => this.signalMain(s, 'SIGTERM'), this.opts.terminateTimeoutMs / 2);
    return true;
  }

  private signalMain(s: Running, signal: NodeJS.Signals): void {
    try {
      process.kill(s.mainPid, signal);
    } catch {
      // Exited meanwhile.
    }
  }

  private armKill(s: Running): void {
    if (s.killTimer) return;
    s.killTimer = setTimeout(() => {
      this.opts.log.info(`${s.unit}: still running ${this.opts.terminateTimeoutMs} ms after SIGTERM, sending SIGKILL.`);
      void this.opts.backend.killAll(s.location, 9).catch(() => {});
    }, this.opts.terminateTimeoutMs);
  }

  /**
   * The built-in launcher's stages, one line each on fd 4: `userns` (machined writes the ID maps of
   * the new user namespace), `ready` (the container's PID 1 is set up: it is registered). Each is
   * answered with a line on fd 3.
   */
  private handshake(s: Running, rootDirectory: string, idMap: string | undefined, gate: NodeJS.WritableStream, reports: NodeJS.ReadableStream): void {
    let buffered = '';
    const fail = (e: Error) => {
      this.opts.log.error(`${s.unit}: ${e.message}`);
      s.child.kill('SIGKILL');
    };
    reports.setEncoding?.('utf8');
    reports.on('error', () => {});
    reports.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === 'userns') {
          try {
            if (idMap === undefined) throw new Error('the launcher asked for ID maps it was not given');
            writeFileSync(`/proc/${s.mainPid}/uid_map`, idMap);
            writeFileSync(`/proc/${s.mainPid}/gid_map`, idMap);
            gate.write('go\n');
          } catch (e) {
            fail(new Error(`Failed to map the container's users: ${(e as Error).message}`));
          }
        } else if (line === 'ready') {
          void this.registerBuiltin(s, rootDirectory).then(() => gate.write('go\n'), fail);
        }
      }
    });
  }

  private async registerBuiltin(s: Running, rootDirectory: string): Promise<void> {
    const leader = childOf(s.mainPid);
    if (leader === null) throw new Error(`cannot find the container's PID 1 below unshare (PID ${s.mainPid})`);
    const networkInterfaces = this.opts.network === 'veth' ? [await addVeth(s.name, leader)] : [];
    await this.opts.registry.register(
      {
        name: s.name,
        id: randomBytes(16),
        service: 'machined',
        class: 'container',
        leader,
        rootDirectory,
        networkInterfaces,
        slice: MACHINE_SLICE,
        description: null,
        scopeProperties: [],
      },
      { uid: 0, pid: process.pid },
    );
  }

  private async onExit(s: Running, how: { code: number | null; signal: NodeJS.Signals | null }, stderr: string[]): Promise<void> {
    const status = how.signal ? `signal ${how.signal}` : `status ${how.code}`;
    if (s.state === 'activating') {
      this.opts.log.error(`${s.unit}: ${s.launcher} exited with ${status} before the machine registered${stderr.length ? `: ${stderr.join(' | ')}` : ''}`);
    } else {
      this.opts.log.info(`${s.unit}: ${s.launcher} exited with ${status}.`);
    }
    const wasRegistered = s.state !== 'activating';
    s.markRegistered(false);
    if (s.secondTerm) clearTimeout(s.secondTerm);
    if (s.state !== 'deactivating') {
      s.state = 'deactivating';
      this.emit('changed', s);
    }
    // What the launcher left (a container init whose parent went) goes as the unit would.
    this.armKill(s);
    await new Promise<void>((resolve) => {
      const stop = this.opts.backend.watchEmpty(s.location, () => {
        queueMicrotask(() => stop());
        resolve();
      });
    });
    if (s.killTimer) clearTimeout(s.killTimer);
    await this.opts.backend.remove(s.location).catch((e: Error) => this.opts.log.warning(`Failed to remove the cgroup of ${s.unit}: ${e.message}`));
    this.units.delete(s.unit);
    s.markGone();
    this.emit('gone', s);
    if (!s.stopRequested && wasRegistered && rebooted(s.launcher, how)) await this.restart(s);
  }

  /**
   * A container that rebooted itself starts again, as systemd restarts the unit
   * (RestartForceExitStatus=133: nspawn's exit status for a reboot; the built-in launcher's unshare
   * dies of the SIGHUP that reboot() in a PID namespace kills its init with).
   */
  private async restart(s: Running): Promise<void> {
    const { registry } = this.opts;
    for (let i = 0; i < 50 && registry.find(s.name); i++) await new Promise((r) => setTimeout(r, 100));
    this.opts.log.info(`${s.unit}: the container rebooted; starting it again.`);
    await this.start(s.name, s.unit).catch((e: Error) => this.opts.log.error(`Restarting ${s.unit} failed: ${e.message}`));
  }

  private collectStderr(child: ChildProcess, unit: string, lines: string[]): void {
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line === '') continue;
        this.opts.log.info(`${unit}: ${line}`);
        lines.push(line);
        if (lines.length > STDERR_LINES) lines.shift();
      }
    });
  }

  /** On shutdown machined leaves started machines running, as systemd-machined leaves nspawn services. */
  close(): void {
    for (const s of this.units.values()) {
      if (s.killTimer) clearTimeout(s.killTimer);
      if (s.secondTerm) clearTimeout(s.secondTerm);
      s.child.stdio[3]?.destroy();
      s.child.stderr?.destroy();
      s.child.unref();
    }
  }
}

function rebooted(launcher: Launcher['kind'], how: { code: number | null; signal: NodeJS.Signals | null }): boolean {
  return launcher === 'systemd-nspawn' ? how.code === 133 : how.signal === 'SIGHUP';
}

/** The first child of a process (unshare --fork's child: the container's PID 1). */
function childOf(pid: number): number | null {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : null;
  } catch {
    return null;
  }
}
