/**
 * Validation of names that arrive from outside, with upstream's rules: a valid machine name is a
 * valid host name (hostname_is_valid with VALID_HOSTNAME_DOT_HOST): letters, digits and hyphens in
 * dot-separated labels, no leading/trailing/double dot, no hyphen at a label's edge, at most 64
 * characters; `.host` names the host.
 */
import { HOST_MACHINE_NAME } from './bus-names.js';

/** HOST_NAME_MAX on Linux. */
export const HOST_NAME_MAX = 64;

const isLdh = (c: string) => /^[A-Za-z0-9-]$/.test(c);

export function hostnameIsValid(s: string, options: { allowDotHost?: boolean } = {}): boolean {
  if (s.length === 0) return false;
  if (s === HOST_MACHINE_NAME) return options.allowDotHost === true;
  let dot = true;
  let hyphen = true;
  for (const c of s) {
    if (c === '.') {
      if (dot || hyphen) return false;
      dot = true;
      hyphen = false;
    } else if (c === '-') {
      if (dot) return false;
      dot = false;
      hyphen = true;
    } else {
      if (!isLdh(c)) return false;
      dot = false;
      hyphen = false;
    }
  }
  if (dot || hyphen) return false;
  return Buffer.byteLength(s, 'utf8') <= HOST_NAME_MAX;
}

/** Names accepted for registering and looking up machines (`.host` included, as upstream). */
export function machineNameIsValid(s: string): boolean {
  return hostnameIsValid(s, { allowDotHost: true });
}

/**
 * Image names: a valid file name (no `/`, not `.` or `..`, at most 255 bytes), valid UTF-8 without
 * control characters, as image_name_is_valid.
 */
export function imageNameIsValid(s: string): boolean {
  if (s.length === 0 || s === '.' || s === '..') return false;
  if (Buffer.byteLength(s, 'utf8') > 255) return false;
  if (s.includes('/')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) return false;
  return !s.includes('\ufffd');
}

export const MACHINE_CLASSES = ['container', 'vm'] as const;
/** `host` is only ever the `.host` machine's class; callers may register containers and VMs. */
export type MachineClass = (typeof MACHINE_CLASSES)[number] | 'host';

/** Parses the class argument of Create/Register: '' means unknown (upstream stores no class). */
export function parseMachineClass(s: string): MachineClass | '' | null {
  if (s === '') return '';
  return (MACHINE_CLASSES as readonly string[]).includes(s) ? (s as MachineClass) : null;
}

/** Kill targets of KillMachine; an empty string means `all`. */
export const KILL_WHOM = ['leader', 'all'] as const;
export type KillWhom = (typeof KILL_WHOM)[number];

export function parseKillWhom(s: string): KillWhom | null {
  if (s === '') return 'all';
  return (KILL_WHOM as readonly string[]).includes(s) ? (s as KillWhom) : null;
}

/** SIGNAL_VALID: 1 to _NSIG-1. */
export function signalIsValid(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n < 65;
}
