/**
 * Unit-name escaping as systemd's unit_name_escape: keeps [A-Za-z0-9:_.], turns `/` into `-`,
 * escapes everything else (including `-` and `\`) as `\xNN`, and a leading `.` too. libvirt and
 * systemd compute machine scope names this way, so ours must agree byte for byte.
 */
import { MACHINE_SLICE } from './bus-names.js';

const KEEP = /^[A-Za-z0-9:_.]$/;

export function unitNameEscape(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  bytes.forEach((b, i) => {
    const c = String.fromCharCode(b);
    if (c === '/') out += '-';
    else if ((c === '.' && i === 0) || b >= 0x80 || !KEEP.test(c)) out += '\\x' + b.toString(16).padStart(2, '0');
    else out += c;
  });
  return out;
}

export function unitNameUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (s[i] === '-') {
      bytes.push(0x2f);
    } else {
      bytes.push(s.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `machine-<escaped name>.scope`, the unit machined creates for a machine. */
export function machineScopeUnitName(machineName: string): string {
  return `machine-${unitNameEscape(machineName)}.scope`;
}

const UNIT_TYPES = new Set(['service', 'socket', 'target', 'device', 'mount', 'automount', 'swap', 'timer', 'path', 'slice', 'scope']);

/** Upstream's VALID_CHARS plus '@' (instance separator); no '/', so a unit name never climbs out of a cgroup directory. */
const UNIT_NAME_CHARS = /^[A-Za-z0-9:_.\\@-]+$/;

/** systemd's UNIT_NAME_MAX is 256 including the terminating NUL. */
const UNIT_NAME_MAX = 255;

/**
 * unit_name_is_valid(name, UNIT_NAME_PLAIN|UNIT_NAME_INSTANCE): `foo.scope` or `foo@bar.service`;
 * templates (`foo@.service`) are not units that can own a cgroup.
 */
export function unitNameIsValid(name: string): boolean {
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

export { MACHINE_SLICE };
