/**
 * Unit types as systemd1's D-Bus API exposes them. Validity and object paths of unit names are
 * libs/protocol's (unitNameIsValid, systemdUnitObjectPath).
 */

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
