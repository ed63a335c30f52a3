/**
 * Unit and slice names ↔ cgroup paths, exactly as systemd spells them, because sd-login
 * (`ps -o machine`, sd_pid_get_machine_name) and systemd-nspawn derive units from these paths.
 */
import type { UnitLocation } from './scope-backend.js';
import { unitNameIsValid } from '@machined/protocol';

/**
 * systemd's own controller names (cgroup_controller_to_string), which cg_escape checks, not the
 * kernel's list: the path has to be the one systemd would compute.
 */
const SYSTEMD_CONTROLLERS = [
  'cpu', 'cpuacct', 'cpuset', 'io', 'blkio', 'memory', 'devices', 'pids',
  'bpf-firewall', 'bpf-devices', 'bpf-foreign', 'bpf-socket-bind', 'bpf-restrict-network-interfaces',
];

const KERNEL_FILE_NAMES = new Set(['notify_on_release', 'release_agent', 'tasks']);

/**
 * cg_escape: a directory name that could clash with a file the kernel puts in a cgroup
 * (`cgroup.procs`, `tasks`, `cpu.weight`…), or that starts with `_` or `.`, gets a `_` prefix, so
 * that reading a name back only ever means dropping one leading `_`. (systemd ≥ 254 matches the
 * controller before the first dot; 252 before the last. They agree for every name with one dot,
 * which covers all unit names whose prefix has no dot.)
 */
export function cgEscape(name: string): string {
  const clashes =
    name === '' ||
    name.startsWith('_') ||
    name.startsWith('.') ||
    KERNEL_FILE_NAMES.has(name) ||
    name.startsWith('cgroup.') ||
    SYSTEMD_CONTROLLERS.some((controller) => name.startsWith(`${controller}.`));
  return clashes ? `_${name}` : name;
}

/** cg_unescape: drops the one `_` that cgEscape may have added. */
export function cgUnescape(name: string): string {
  return name.startsWith('_') ? name.slice(1) : name;
}

/**
 * cg_slice_to_path with a leading `/`: `machine.slice` → `/machine.slice`,
 * `a-b.slice` → `/a.slice/a-b.slice`, `-.slice` (the root slice) → `/`.
 * Throws on names systemd would refuse (`-a.slice`, `a--b.slice`, `a-.slice`, no `.slice`).
 */
export function slicePath(slice: string): string {
  if (slice === '-.slice') return '/';
  if (!unitNameIsValid(slice) || !slice.endsWith('.slice') || slice.includes('@')) {
    throw new Error(`Invalid slice name: ${JSON.stringify(slice)}`);
  }
  const prefix = slice.slice(0, -'.slice'.length);
  const parts = prefix.split('-');
  if (parts.some((part) => part === '')) {
    throw new Error(`Invalid slice name (empty component between dashes): ${JSON.stringify(slice)}`);
  }
  const components: string[] = [];
  for (let i = 1; i <= parts.length; i++) components.push(cgEscape(`${parts.slice(0, i).join('-')}.slice`));
  return `/${components.join('/')}`;
}

/** `/machine.slice/machine-foo.scope` for a unit in a slice. */
export function unitCgroupPath(slice: string, unit: string): string {
  if (!unitNameIsValid(unit)) throw new Error(`Invalid unit name: ${JSON.stringify(unit)}`);
  const parent = slicePath(slice);
  return `${parent === '/' ? '' : parent}/${cgEscape(unit)}`;
}

/**
 * Where a unit lives when it was created in `slice`; machined needs this to find a machine's scope
 * again after a restart, when the state file names only the unit.
 */
export function unitLocation(slice: string, unit: string): UnitLocation {
  return { unit, cgroupPath: unitCgroupPath(slice, unit), subgroup: '' };
}

/**
 * Refuses a cgroup path that is not absolute and normalized: these paths are appended to mount
 * points, so `..` would reach outside the cgroup tree.
 */
export function assertCgroupPath(path: string): void {
  const components = path.split('/').slice(1);
  const ok =
    path.startsWith('/') &&
    !path.includes('\0') &&
    (path === '/' || components.every((c) => c !== '' && c !== '.' && c !== '..'));
  if (!ok) throw new Error(`Invalid cgroup path: ${JSON.stringify(path)}`);
}

function isSliceComponent(component: string): boolean {
  if (component.length < 'x.slice'.length || !component.endsWith('.slice')) return false;
  const name = cgUnescape(component);
  return unitNameIsValid(name) && !name.includes('@');
}

/**
 * cg_path_get_unit, plus the subgroup: skip the leading `*.slice` components; the next one is the
 * unit, the rest is the subgroup below it. `/machine.slice/machine-foo.scope/payload` →
 * `{unit: machine-foo.scope, cgroupPath: /machine.slice/machine-foo.scope, subgroup: payload}`.
 * Null in the root, in slices only, or when the component is no valid unit name.
 */
export function unitFromCgroupPath(path: string): UnitLocation | null {
  const components = path.split('/').filter((c) => c !== '');
  let i = 0;
  while (i < components.length && isSliceComponent(components[i]!)) i++;
  const component = components[i];
  if (component === undefined) return null;
  const unit = cgUnescape(component);
  if (!unitNameIsValid(unit) || unit.endsWith('.slice')) return null;
  return {
    unit,
    cgroupPath: `/${components.slice(0, i + 1).join('/')}`,
    subgroup: components.slice(i + 1).join('/'),
  };
}
