/**
 * The bus names, paths and label escaping machinectl uses, mirrored from libs/protocol.
 *
 * Why a mirror: @machined/protocol's entry also exports the server side (ObjectServer, the
 * authorizer, …), whose modules import dbus-next's full index at load time; the package does not
 * declare itself free of side effects, so the bundler must keep and run all of it, which costs a
 * CLI about 25 ms and 300 KB of XML machinery on every start. names.spec.ts checks that every
 * value here equals the one in @machined/protocol, so the two cannot drift apart. (With
 * `"sideEffects": false` in libs/protocol/package.json this file could go.)
 */

export const MACHINE1_BUS_NAME = 'org.freedesktop.machine1';
export const MACHINE1_PATH = '/org/freedesktop/machine1';
export const MACHINE1_MANAGER_INTERFACE = 'org.freedesktop.machine1.Manager';
export const IMPORT1_BUS_NAME = 'org.freedesktop.import1';
export const IMPORT1_PATH = '/org/freedesktop/import1';
export const IMPORT1_MANAGER_INTERFACE = 'org.freedesktop.import1.Manager';
export const SYSTEMD1_BUS_NAME = 'org.freedesktop.systemd1';
export const SYSTEMD1_PATH = '/org/freedesktop/systemd1';
export const SYSTEMD1_MANAGER_INTERFACE = 'org.freedesktop.systemd1.Manager';
export const SYSTEMD1_UNIT_PATH_PREFIX = '/org/freedesktop/systemd1/unit';
export const PROPERTIES_INTERFACE = 'org.freedesktop.DBus.Properties';
export const NO_SUCH_IMAGE_ERROR = 'org.freedesktop.machine1.NoSuchImage';

/** bus_label_escape(): bytes outside [A-Za-z0-9] (and a leading digit) become _xx. */
export function busLabelEscape(s: string): string {
  if (s === '') return '_';
  let out = '';
  Buffer.from(s, 'utf8').forEach((b, i) => {
    const alpha = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
    const digit = b >= 0x30 && b <= 0x39;
    out += alpha || (digit && i > 0) ? String.fromCharCode(b) : '_' + b.toString(16).padStart(2, '0');
  });
  return out;
}

export function systemdUnitObjectPath(unit: string): string {
  return `${SYSTEMD1_UNIT_PATH_PREFIX}/${busLabelEscape(unit)}`;
}

/** hostname_is_valid(s, 0): dot-separated LDH labels, no edge hyphens, at most 64 bytes. */
export function hostnameIsValid(s: string): boolean {
  if (s.length === 0 || Buffer.byteLength(s, 'utf8') > 64) return false;
  return /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(s);
}
