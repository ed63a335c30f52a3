/** The one start-up decision: let systemd own the scopes, or manage cgroups ourselves. */
import { readFile, stat } from 'node:fs/promises';
import type { MessageBus } from 'dbus-next';
import { CgroupfsBackend } from './cgroupfs-backend.js';
import { detectHierarchy } from './hierarchy.js';
import type { ScopeBackend } from './scope-backend.js';
import { SystemdBackend } from './systemd-backend.js';
import { SYSTEMD1_NAME, nameOwner } from './systemd-bus.js';

export interface SystemdProbe {
  /** The system bus; without one, systemd cannot be used. */
  bus?: MessageBus;
  /** sd_booted()'s marker, `/run/systemd/system`. */
  systemdRuntimeDir?: string;
  /** Where PID 1's comm is read: `<procRoot>/1/comm`. */
  procRoot?: string;
}

export interface SelectScopeBackendOptions extends SystemdProbe {
  prefer?: 'auto' | 'cgroupfs' | 'systemd';
  cgroupRoot?: string;
  /** mountinfo to classify the hierarchy from; tests only. */
  mountinfoPath?: string;
}

/**
 * Whether systemd is the service manager we can hand scopes to. All three checks are needed:
 * `/run/systemd/system` alone is what sd_booted() trusts, but test suites create it on non-systemd
 * hosts so that systemd's clients run; and org.freedesktop.systemd1 may be owned by machined itself,
 * which answers a slice of that API where PID 1 is not systemd.
 */
export async function systemdIsServiceManager(probe: SystemdProbe): Promise<boolean> {
  const { bus, systemdRuntimeDir = '/run/systemd/system', procRoot = '/proc' } = probe;
  if (bus === undefined) return false;
  const booted = await stat(systemdRuntimeDir).then((s) => s.isDirectory(), () => false);
  if (!booted) return false;
  const comm = await readFile(`${procRoot}/1/comm`, 'utf8').then((c) => c.trim(), () => '');
  if (comm !== 'systemd') return false;
  const owner = await nameOwner(bus, SYSTEMD1_NAME).catch(() => undefined);
  return owner !== undefined && owner !== (bus as MessageBus & { name?: string | null }).name;
}

export async function selectScopeBackend(options: SelectScopeBackendOptions = {}): Promise<ScopeBackend> {
  const { bus, prefer = 'auto', cgroupRoot, mountinfoPath } = options;
  const layout = detectHierarchy(cgroupRoot, mountinfoPath);
  const procRoot = options.procRoot ?? '/proc';
  const useSystemd = prefer === 'systemd' || (prefer === 'auto' && (await systemdIsServiceManager(options)));
  if (useSystemd) {
    if (bus === undefined) throw new Error('The systemd scope backend needs a bus connection');
    return new SystemdBackend(bus, { layout, procRoot });
  }
  return new CgroupfsBackend(layout, { procRoot });
}
