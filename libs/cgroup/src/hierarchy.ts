import { readFileSync } from 'node:fs';
import type { Hierarchy } from './scope-backend.js';

/** Where the cgroup trees that matter to machine scopes are mounted. */
export interface CgroupLayout {
  hierarchy: Hierarchy;
  /** The cgroup root the layout was detected under, normally `/sys/fs/cgroup`. */
  root: string;
  /** cgroup2 mount point: the root itself (unified) or `<root>/unified` (hybrid); absent on legacy. */
  unified?: string;
  /** v1 `name=systemd` mount point, `<root>/systemd`; absent on unified. */
  systemd?: string;
  /** v1 controller name → mount point (`memory` → `/sys/fs/cgroup/memory`), for reading accounting only. */
  controllers: Record<string, string>;
}

/** Kernel v1 controllers; anything else in a cgroup mount's options is a mount flag. */
const V1_CONTROLLERS = new Set([
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio',
  'perf_event', 'hugetlb', 'pids', 'rdma', 'misc', 'debug',
]);

interface Mount {
  fstype: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash in paths as octal (`\040`). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** The mounts at each mount point; a later line is mounted over an earlier one, so it wins. */
function mountsByPoint(mountinfo: string): Map<string, Mount> {
  const mounts = new Map<string, Mount>();
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
    const separator = fields.indexOf('-', 6);
    if (separator < 0) continue;
    const mountPoint = fields[4];
    const fstype = fields[separator + 1];
    if (mountPoint === undefined || fstype === undefined) continue;
    mounts.set(trimSlash(unescapeMountPath(mountPoint)), {
      fstype,
      superOptions: (fields[separator + 3] ?? '').split(','),
    });
  }
  return mounts;
}

/**
 * Classifies the cgroup mounts described by /proc/self/mountinfo text, the way systemd's
 * cg_unified_cached() does with statfs: cgroup2 at the root is unified; cgroup2 at
 * `<root>/unified` is hybrid (systemd then tracks units in cgroup2, with `name=systemd` kept for
 * v1-era tools); a v1 `name=systemd` tree alone is legacy.
 */
export function parseMountinfo(mountinfo: string, root = '/sys/fs/cgroup'): CgroupLayout {
  const base = trimSlash(root);
  const mounts = mountsByPoint(mountinfo);
  const controllers: Record<string, string> = {};
  for (const [point, mount] of mounts) {
    if (mount.fstype !== 'cgroup' || point.slice(0, point.lastIndexOf('/')) !== base) continue;
    for (const option of mount.superOptions) {
      if (V1_CONTROLLERS.has(option) && controllers[option] === undefined) controllers[option] = point;
    }
  }

  if (mounts.get(base)?.fstype === 'cgroup2') {
    return { hierarchy: 'unified', root: base, unified: base, controllers: {} };
  }
  const unifiedMount = mounts.get(`${base}/unified`);
  const systemdMount = mounts.get(`${base}/systemd`);
  const unified = unifiedMount?.fstype === 'cgroup2' ? `${base}/unified` : undefined;
  const systemd = systemdMount?.fstype === 'cgroup' && systemdMount.superOptions.includes('name=systemd')
    ? `${base}/systemd`
    : undefined;
  if (unified !== undefined) {
    return { hierarchy: 'hybrid', root: base, unified, ...(systemd ? { systemd } : {}), controllers };
  }
  if (systemd !== undefined) return { hierarchy: 'legacy', root: base, systemd, controllers };
  throw new Error(
    `No cgroup hierarchy usable for machine scopes under ${base}: ` +
      `need cgroup2 at ${base} or ${base}/unified, or a v1 name=systemd mount at ${base}/systemd`,
  );
}

/** Reads this process's mount table once; synchronous because it runs at start-up only. */
export function detectHierarchy(root = '/sys/fs/cgroup', mountinfoPath = '/proc/self/mountinfo'): CgroupLayout {
  return parseMountinfo(readFileSync(mountinfoPath, 'utf8'), root);
}
