/**
 * Stopping a unit's processes the way systemd stops a scope: SIGTERM (and SIGCONT, so stopped
 * processes see it), SIGKILL to whatever is left after the timeout, and, for scopes machined
 * created, removing the cgroups once empty. One stopper per cgroup, however often it is asked.
 */
import { constants } from 'node:os';
import type { ScopeBackend, UnitLocation } from '@machined/cgroup';
import type { Logger } from '@machined/protocol';

interface Stopping {
  timer: NodeJS.Timeout | null;
  unwatch: () => void;
}

export class ScopeStopper {
  private readonly active = new Map<string, Stopping>();

  constructor(
    private readonly backend: ScopeBackend,
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Signals every process and cleans up when the unit is empty; kill=false only waits and cleans
   * up; graceful=true means the controller was asked to stop (RequestStop), so only the SIGKILL
   * after the timeout remains to be done.
   */
  stop(location: UnitLocation, options: { kill: boolean; removeWhenEmpty: boolean; graceful?: boolean }): void {
    const key = location.cgroupPath;
    const existing = this.active.get(key);
    if (existing) {
      if (options.kill && existing.timer === null) this.arm(location, existing, options.graceful ?? false);
      return;
    }
    const entry: Stopping = { timer: null, unwatch: () => {} };
    this.active.set(key, entry);
    entry.unwatch = this.backend.watchEmpty(location, () => {
      this.finish(key);
      if (options.removeWhenEmpty) {
        this.backend.remove(location).catch((e: Error) => this.log.warning(`Failed to remove ${location.cgroupPath}: ${e.message}`));
      }
    });
    if (options.kill) this.arm(location, entry, options.graceful ?? false);
  }

  isStopping(location: UnitLocation): boolean {
    return this.active.has(location.cgroupPath);
  }

  private arm(location: UnitLocation, entry: Stopping, graceful: boolean): void {
    const signalAll = (sig: number) =>
      this.backend.killAll(location, sig).catch((e: Error) => this.log.warning(`Failed to signal ${location.unit}: ${e.message}`));
    if (!graceful) void signalAll(constants.signals.SIGTERM).then(() => signalAll(constants.signals.SIGCONT));
    entry.timer = setTimeout(() => {
      if (!this.active.has(location.cgroupPath)) return;
      this.log.info(`${location.unit}: processes left after SIGTERM, sending SIGKILL`);
      void signalAll(constants.signals.SIGKILL);
    }, this.timeoutMs);
  }

  private finish(key: string): void {
    const entry = this.active.get(key);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    this.active.delete(key);
    // The watcher may call back synchronously, before unwatch was assigned; defer.
    queueMicrotask(() => entry.unwatch());
  }

  close(): void {
    for (const key of [...this.active.keys()]) this.finish(key);
  }
}
