/**
 * Start-up: the cgroups of `systemd-nspawn@NAME.service` units a previous machined started. The
 * machine itself comes back through its state file (restore.ts), but its unit's cgroup is not the
 * registry's to remove (the machine registered from it, as nspawn --keep-unit does): it is
 * removed here once empty, at once when it is empty already.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgUnescape, detectHierarchy, unitLocation, type ScopeBackend } from '@machined/cgroup';
import { MACHINE_SLICE, type Logger } from '@machined/protocol';
import type { Registry } from '../registry/registry.js';
import { nspawnUnitMachine } from '../systemd1/nspawn-unit.js';

export function adoptLeftoverUnits(registry: Registry, backend: ScopeBackend, log: Logger, cgroupRoot?: string): Array<() => void> {
  let layout;
  try {
    layout = detectHierarchy(cgroupRoot);
  } catch (e) {
    log.warning(`Not looking for the cgroups of earlier started units: ${(e as Error).message}`);
    return [];
  }
  const units = new Set<string>();
  for (const mount of [layout.unified, layout.systemd]) {
    if (mount === undefined) continue;
    let entries: string[] = [];
    try {
      entries = readdirSync(join(mount, MACHINE_SLICE), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      continue; // no machine.slice there
    }
    for (const dir of entries) {
      const unit = cgUnescape(dir);
      if (nspawnUnitMachine(unit) !== null) units.add(unit);
    }
  }
  const stops: Array<() => void> = [];
  for (const unit of units) {
    const location = unitLocation(MACHINE_SLICE, unit);
    const remove = () =>
      void backend.remove(location).then(
        () => log.info(`Removed the cgroup of ${unit}, left by an earlier run.`),
        (e: Error) => log.warning(`Failed to remove the cgroup of ${unit}: ${e.message}`),
      );
    if (!registry.findByUnit(unit)) log.info(`${unit} runs without a registered machine; its cgroup goes once it is empty.`);
    const stop = backend.watchEmpty(location, () => {
      queueMicrotask(() => stop());
      remove();
    });
    stops.push(stop);
  }
  return stops;
}
