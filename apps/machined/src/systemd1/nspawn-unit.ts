/**
 * `systemd-nspawn@NAME.service`, the template instance machinectl start/enable name
 * (unit_name_build: the machine name as the instance). %i is the instance with `\xNN` escapes
 * undone (and nothing else: `-` stays `-`), so `systemd-nspawn@foo\x2dbar.service` is machine
 * `foo-bar` as well.
 */
import { machineNameIsValid, unitNameIsValid } from '@machined/protocol';

const PREFIX = 'systemd-nspawn@';
const SUFFIX = '.service';

/** The machine a `systemd-nspawn@NAME.service` unit runs, or null for any other unit. */
export function nspawnUnitMachine(unit: string): string | null {
  if (!unit.startsWith(PREFIX) || !unit.endsWith(SUFFIX) || !unitNameIsValid(unit)) return null;
  const instance = unit.slice(PREFIX.length, -SUFFIX.length);
  if (instance === '') return null;
  const name = Buffer.from(
    instance.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
  return machineNameIsValid(name) ? name : null;
}
