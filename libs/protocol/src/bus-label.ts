/**
 * Object-path labels exactly as sd_bus_path_encode / bus_label_escape make them: every byte that
 * is not [A-Za-z0-9], and a digit in first position, becomes `_xx` (lowercase hex of the UTF-8
 * byte); the empty string becomes `_`. machinectl computes systemd1 unit paths with the same rules,
 * so any difference here breaks `machinectl status`.
 */
import {
  MACHINE1_IMAGE_PATH_PREFIX,
  MACHINE1_MACHINE_PATH_PREFIX,
  SYSTEMD1_UNIT_PATH_PREFIX,
} from './bus-names.js';

const isAlpha = (b: number) => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;

export function busLabelEscape(s: string): string {
  if (s === '') return '_';
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  bytes.forEach((b, i) => {
    if (isAlpha(b) || (isDigit(b) && i > 0)) out += String.fromCharCode(b);
    else out += '_' + b.toString(16).padStart(2, '0');
  });
  return out;
}

/** Inverse of busLabelEscape; null when the label is not a valid escape. */
export function busLabelUnescape(label: string): string | null {
  if (label === '_') return '';
  const bytes: number[] = [];
  for (let i = 0; i < label.length; i++) {
    const c = label[i]!;
    if (c === '_') {
      const hex = label.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (/^[A-Za-z0-9]$/.test(c)) {
      bytes.push(c.charCodeAt(0));
    } else {
      return null;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function machineObjectPath(name: string): string {
  return `${MACHINE1_MACHINE_PATH_PREFIX}/${busLabelEscape(name)}`;
}

export function imageObjectPath(name: string): string {
  return `${MACHINE1_IMAGE_PATH_PREFIX}/${busLabelEscape(name)}`;
}

export function systemdUnitObjectPath(unit: string): string {
  return `${SYSTEMD1_UNIT_PATH_PREFIX}/${busLabelEscape(unit)}`;
}

/** The machine name behind a machine object path, or null if the path is not one. */
export function machineNameFromObjectPath(path: string): string | null {
  const prefix = MACHINE1_MACHINE_PATH_PREFIX + '/';
  if (!path.startsWith(prefix)) return null;
  const label = path.slice(prefix.length);
  if (label === '' || label.includes('/')) return null;
  return busLabelUnescape(label);
}
