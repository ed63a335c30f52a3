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

const UNIT_SUFFIXES = ['service', 'socket', 'target', 'device', 'mount', 'automount', 'swap', 'timer', 'path', 'slice', 'scope'];

/** A syntactically valid unit name (prefix, optional instance, known suffix), as unit_name_is_valid. */
export function unitNameIsValid(name: string): boolean {
  if (name.length === 0 || name.length > 255) return false;
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return false;
  if (!UNIT_SUFFIXES.includes(name.slice(dot + 1))) return false;
  const stem = name.slice(0, dot);
  return /^[A-Za-z0-9:_.\\@-]+$/.test(stem) && !stem.startsWith('@');
}

export { MACHINE_SLICE };
