/**
 * Start-up: re-adopt the machines whose state files survived a restart (or a kill -9) of machined.
 * A machine comes back only if its leader still runs inside the machine's unit; a recycled PID
 * sits elsewhere in the cgroup tree, so it is not mistaken for the old leader.
 */
import { machineScopeUnitName, parseMachineClass, type Logger } from '@machined/protocol';
import type { StateStore } from '../state/state-store.js';
import { Machine } from './machine.js';
import { processInfo } from './process-info.js';
import type { Registry } from './registry.js';

export async function restoreMachines(registry: Registry, store: StateStore, log: Logger): Promise<number> {
  await store.init();
  let restored = 0;
  for (const { fileName, state } of await store.loadAll()) {
    if (state.name !== fileName) {
      log.warning(`Ignoring state file ${fileName}: its NAME= is '${state.name ?? ''}'.`);
      continue;
    }
    const name = fileName;
    const unit = state.unit ?? '';
    const ownsScope = unit === machineScopeUnitName(name);
    const leader = state.leader ?? 0;
    const info = leader > 1 ? processInfo(leader) : null;
    const loc = info ? await registry.backend.unitOfPid(leader).catch(() => null) : null;
    if (!info || !loc || loc.unit !== unit) {
      log.info(`Dropping machine ${name}: leader ${leader} is gone.`);
      await store.remove(name, unit).catch(() => {});
      if (ownsScope) {
        // The state file does not say which slice; machine scopes live in machine.slice unless the caller chose another.
        const orphan = { unit, cgroupPath: `/machine.slice/${unit}`, subgroup: '' };
        if (await registry.backend.exists(orphan).catch(() => false)) registry.cleanUpOrphanScope(orphan);
      }
      continue;
    }
    const cls = parseMachineClass(state.class ?? '');
    registry.adopt(
      new Machine({
        name,
        id: state.id ? Buffer.from(state.id, 'hex') : Buffer.alloc(0),
        service: state.service ?? '',
        class: cls ?? '',
        leader,
        rootDirectory: state.rootDirectory ?? '',
        networkInterfaces: state.networkInterfaces ?? [],
        unit,
        location: { unit, cgroupPath: loc.cgroupPath, subgroup: '' },
        ownsScope,
        uid: state.uid ?? 0,
        timestamp: { realtime: state.realtime ?? 0n, monotonic: state.monotonic ?? 0n },
        scopeProperties: [],
      }),
    );
    restored++;
  }
  await store.removeDanglingLinks();
  return restored;
}
