/**
 * The verb table of machinectl 252 (name, argument counts counting the verb itself, as upstream's
 * verbs[]), each bound to the function that implements it. The verb modules are small and
 * imported statically (so the bundler can drop whatever they do not use); the D-Bus library is
 * what is loaded only when a verb connects, so `--help` or a typo never pays for it.
 */
import type { Context } from '../verbs/context.js';
import { listMachines } from '../verbs/list.js';
import { imageStatus, listImages } from '../verbs/images.js';
import { statusMachines } from '../verbs/status.js';
import { showMachineOrImage } from '../verbs/show.js';
import { bindMount, copyFiles, killVerb, poweroffVerb, rebootVerb, terminateMachines } from '../verbs/machine-control.js';
import { loginMachine, shellMachine } from '../verbs/shell.js';
import { cleanImages, cloneImage, readOnlyImage, removeImages, renameImage, setLimit } from '../verbs/image-control.js';
import { enableMachines, startMachines } from '../verbs/units.js';
import { cancelTransfers, listTransfers } from '../verbs/transfers.js';
import { pullImage } from '../verbs/pull.js';
import { exportImage, importImage } from '../verbs/import-export.js';

const ANY = Infinity;

export interface VerbSpec {
  name: string;
  min: number;
  max: number;
  run: (ctx: Context) => Promise<number>;
}

const v = (name: string, min: number, max: number, run: VerbSpec['run']): VerbSpec => ({ name, min, max, run });

export const VERBS: VerbSpec[] = [
  v('help', 0, ANY, async () => 0),
  v('list', 0, 1, (c) => listMachines(c)),
  v('list-images', 0, 1, (c) => listImages(c)),
  v('status', 2, ANY, (c) => statusMachines(c)),
  v('image-status', 0, ANY, (c) => imageStatus(c)),
  v('show', 0, ANY, (c) => showMachineOrImage(c, 'machine')),
  v('show-image', 0, ANY, (c) => showMachineOrImage(c, 'image')),
  v('terminate', 2, ANY, (c) => terminateMachines(c)),
  v('reboot', 2, ANY, (c) => rebootVerb(c)),
  v('poweroff', 2, ANY, (c) => poweroffVerb(c)),
  v('stop', 2, ANY, (c) => poweroffVerb(c)),
  v('kill', 2, ANY, (c) => killVerb(c)),
  v('login', 0, 2, (c) => loginMachine(c)),
  v('shell', 0, ANY, (c) => shellMachine(c)),
  v('bind', 3, 4, (c) => bindMount(c)),
  v('copy-to', 3, 4, (c) => copyFiles(c)),
  v('copy-from', 3, 4, (c) => copyFiles(c)),
  v('remove', 2, ANY, (c) => removeImages(c)),
  v('rename', 3, 3, (c) => renameImage(c)),
  v('clone', 3, 3, (c) => cloneImage(c)),
  v('read-only', 2, 3, (c) => readOnlyImage(c)),
  v('start', 2, ANY, (c) => startMachines(c)),
  v('enable', 2, ANY, (c) => enableMachines(c)),
  v('disable', 2, ANY, (c) => enableMachines(c)),
  v('import-tar', 2, 3, (c) => importImage(c)),
  v('import-raw', 2, 3, (c) => importImage(c)),
  v('import-fs', 2, 3, (c) => importImage(c)),
  v('export-tar', 2, 3, (c) => exportImage(c)),
  v('export-raw', 2, 3, (c) => exportImage(c)),
  v('pull-tar', 2, 3, (c) => pullImage(c)),
  v('pull-raw', 2, 3, (c) => pullImage(c)),
  v('list-transfers', 0, 1, (c) => listTransfers(c)),
  v('cancel-transfer', 2, ANY, (c) => cancelTransfers(c)),
  v('set-limit', 2, 3, (c) => setLimit(c)),
  v('clean', 0, 1, (c) => cleanImages(c)),
];

export const DEFAULT_VERB = 'list';

/** dispatch_verb()'s checks: the verb exists and has an acceptable number of arguments. */
export function findVerb(operands: string[]): { spec: VerbSpec; error?: undefined } | { error: string } {
  const name = operands[0] ?? DEFAULT_VERB;
  const spec = VERBS.find((s) => s.name === name);
  if (!spec) return { error: `Unknown command verb ${name}.` };
  const argc = Math.max(operands.length, 1);
  if (argc < spec.min) return { error: 'Too few arguments.' };
  if (argc > spec.max) return { error: 'Too many arguments.' };
  return { spec };
}
