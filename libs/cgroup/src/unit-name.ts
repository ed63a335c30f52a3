/**
 * systemd unit names as far as cgroup paths need them. The caller escapes a machine name into a
 * unit name; here we only decide whether a string is one, because a unit name becomes a directory
 * name under /sys/fs/cgroup and must never be able to climb out of it.
 */

const UNIT_TYPES = new Set([
  'service', 'socket', 'target', 'device', 'mount', 'automount', 'swap', 'timer', 'path', 'slice', 'scope',
]);

/** Upstream's VALID_CHARS plus '@' (instance separator); '/' is absent, which is what keeps paths safe. */
const UNIT_NAME_CHARS = /^[A-Za-z0-9:_.\\@-]+$/;

/** systemd's UNIT_NAME_MAX is 256 including the terminating NUL. */
const UNIT_NAME_MAX = 255;

/**
 * `unit_name_is_valid(name, UNIT_NAME_PLAIN|UNIT_NAME_INSTANCE)`: `foo.scope` or `foo@bar.service`;
 * templates (`foo@.service`) are not units that can own a cgroup.
 */
export function isValidUnitName(name: string): boolean {
  if (name.length === 0 || name.length > UNIT_NAME_MAX) return false;
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return false;
  if (!UNIT_TYPES.has(name.slice(dot + 1))) return false;
  const prefix = name.slice(0, dot);
  if (!UNIT_NAME_CHARS.test(prefix)) return false;
  const at = prefix.indexOf('@');
  if (at === 0) return false;
  return at < 0 || at < prefix.length - 1;
}

/** `machine-foo.scope` → `scope`. */
export function unitType(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

/**
 * The systemd1 interface that carries a unit's cgroup properties (ControlGroup, MemoryCurrent, …):
 * `org.freedesktop.systemd1.Scope` for scopes, `.Service` for services, and so on.
 */
export function unitTypeInterface(name: string): string {
  const type = unitType(name);
  return `org.freedesktop.systemd1.${type.charAt(0).toUpperCase()}${type.slice(1)}`;
}

/**
 * `/org/freedesktop/systemd1/unit/<label>` with sd_bus_path_encode's escaping, so that a watch can
 * subscribe to a unit's PropertiesChanged before asking systemd whether the unit exists.
 */
export function unitObjectPath(name: string): string {
  if (name.length === 0) return '/org/freedesktop/systemd1/unit/_';
  let label = '';
  const bytes = Buffer.from(name, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const alnum = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
    const leadingDigit = i === 0 && b >= 0x30 && b <= 0x39;
    label += alnum && !leadingDigit ? String.fromCharCode(b) : `_${b.toString(16).padStart(2, '0')}`;
  }
  return `/org/freedesktop/systemd1/unit/${label}`;
}
