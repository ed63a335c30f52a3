/**
 * pull-tar / pull-raw: PullTar / PullRaw on org.freedesktop.import1, then follow the transfer as
 * upstream's transfer_image_common() does: its LogMessage lines on stderr, exit 0 when
 * TransferRemoved says "done", 1 otherwise; Ctrl-C leaves it running in the background. Unlike
 * 252, signals that arrive before the call's reply are kept rather than dropped, so a very quick
 * transfer cannot leave us waiting forever (systemd issue #9527).
 */
import { writeSync } from 'node:fs';
import type { BusMessage, CallSpec } from '../bus/bus-client.js';
import { importManager } from '../bus/calls.js';
import { IMPORT1_BUS_NAME, IMPORT1_MANAGER_INTERFACE, IMPORT1_PATH, hostnameIsValid } from '../bus/names.js';
import { CliError } from '../cli/cli-error.js';
import type { Context } from './context.js';
import { couldNot } from './errors.js';
import { ProgressLine } from './transfer-progress.js';

const TRANSFER_INTERFACE = 'org.freedesktop.import1.Transfer';

/** import_url_last_component(): the last path component of a URL, before any query. */
export function urlLastComponent(url: string): string | undefined {
  let e = url.indexOf('?');
  if (e < 0) e = url.length;
  while (e > 0 && url[e - 1] === '/') e--;
  let p = e;
  while (p > 0 && url[p - 1] !== '/') p--;
  return e > p ? url.slice(p, e) : undefined;
}

export function tarStripSuffixes(name: string): string {
  for (const s of ['.tar', '.tar.xz', '.tar.gz', '.tar.bz2', '.tgz']) if (name.endsWith(s)) return name.slice(0, -s.length);
  return name;
}

export function rawStripSuffixes(name: string): string {
  let q = name;
  for (let any = true; any; ) {
    any = false;
    for (const s of ['.xz', '.gz', '.bz2', '.raw', '.qcow2', '.img', '.bin']) {
      if (q.endsWith(s)) {
        q = q.slice(0, -s.length);
        any = true;
      }
    }
  }
  return q;
}

const urlIsValid = (u: string) => (/^https?:\/\/./.test(u) && /^[\x20-\x7e]*$/.test(u)) || u.startsWith('file:/');

export async function pullImage(ctx: Context): Promise<number> {
  const raw = ctx.verb === 'pull-raw';
  const remote = ctx.args[0]!;
  if (!urlIsValid(remote)) throw new CliError(`URL '${remote}' is not valid.`);
  let local = ctx.args.length >= 2 ? ctx.args[1]! : urlLastComponent(remote);
  if (local === undefined) throw new CliError('Failed to get final component of URL: Invalid argument');
  if (local === '' || local === '-') local = '';
  if (local) {
    local = raw ? rawStripSuffixes(local) : tarStripSuffixes(local);
    if (!hostnameIsValid(local)) throw new CliError(`Local name ${local} is not a suitable machine name.`);
  }
  return followTransfer(ctx, importManager(raw ? 'PullRaw' : 'PullTar', 'sssb', [remote, local, ctx.options.verify, ctx.options.force]));
}

/** How often the Progress property is read, as the import1 man page recommends (for servers without ProgressUpdate). */
const PROGRESS_POLL_MS = 500;

function writeStderr(s: string): void {
  try {
    writeSync(2, s);
  } catch {
    // stderr gone: nothing to show the progress on
  }
}

/**
 * transfer_image_common(): subscribe, start the transfer, print its log until it is removed.
 * `totalBytes` (the size of an imported file) lets the progress line show bytes and the rate.
 */
export async function followTransfer(ctx: Context, spec: CallSpec, totalBytes: number | null = null): Promise<number> {
  const bus = await ctx.bus({ unixFds: spec.signature?.includes('h') ?? false });
  const progress =
    process.stderr.isTTY && !ctx.options.quiet ? new ProgressLine(writeStderr, () => process.stderr.columns || ctx.term.columns, totalBytes) : null;

  const early: BusMessage[] = [];
  let ours: string | undefined;
  let finish: ((rc: number) => void) | undefined;
  const handle = (m: BusMessage): void => {
    if (m.member === 'LogMessage' && m.interface === TRANSFER_INTERFACE && m.path === ours) {
      const [priority, line] = m.body as [number, string];
      progress?.noteLogLine(line);
      if (!(ctx.options.quiet && (priority & 7) >= 6)) {
        progress?.clear();
        ctx.log(line, (priority & 7) <= 3 ? 'error' : 'info');
        progress?.redraw();
      }
    } else if (m.member === 'ProgressUpdate' && m.interface === TRANSFER_INTERFACE && m.path === ours) {
      progress?.update(m.body[0] as number);
    } else if (m.member === 'TransferRemoved' && m.interface === IMPORT1_MANAGER_INTERFACE) {
      const [, path, result] = m.body as [number, string, string];
      if (path === ours) finish?.(result === 'done' ? 0 : 1);
    }
  };
  bus.onSignal((m) => (ours === undefined ? early.push(m) : handle(m)));
  const match = (rule: string) =>
    bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule] });
  let id: number;
  try {
    await Promise.all([
      match(`type='signal',sender='${IMPORT1_BUS_NAME}',path='${IMPORT1_PATH}',interface='${IMPORT1_MANAGER_INTERFACE}',member='TransferRemoved'`),
      match(`type='signal',sender='${IMPORT1_BUS_NAME}',interface='${TRANSFER_INTERFACE}',member='LogMessage'`),
      ...(progress ? [match(`type='signal',sender='${IMPORT1_BUS_NAME}',interface='${TRANSFER_INTERFACE}',member='ProgressUpdate'`)] : []),
    ]);
  } catch (e) {
    return couldNot(ctx, 'Failed to request match', e);
  }
  try {
    [id, ours] = (await bus.call(spec)) as [number, string];
  } catch (e) {
    return couldNot(ctx, 'Failed to transfer image', e);
  }
  if (!ctx.options.quiet) ctx.log(`Enqueued transfer job ${id}. Press C-c to continue download in background.`, 'info');
  const path = ours;
  let timer: NodeJS.Timeout | undefined;
  if (progress) {
    // Also redraws the rate and time left while no update arrives.
    timer = setInterval(() => {
      bus
        .call({ destination: IMPORT1_BUS_NAME, path, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [TRANSFER_INTERFACE, 'Progress'] })
        .then((body) => {
          const v = (body as unknown[])[0] as number | { value?: unknown };
          const f = typeof v === 'number' ? v : Number(v?.value);
          if (timer) progress.update(f);
        })
        .catch(() => undefined); // gone already: TransferRemoved follows
    }, PROGRESS_POLL_MS);
  }
  try {
    return await new Promise<number>((resolve) => {
      finish = resolve;
      const detach = () => {
        progress?.clear();
        if (!ctx.options.quiet) ctx.log(`Continuing download in the background. Use "machinectl cancel-transfer ${id}" to abort transfer.`, 'info');
        resolve(1);
      };
      process.once('SIGINT', detach);
      process.once('SIGTERM', detach);
      for (const m of early.splice(0)) handle(m);
    });
  } finally {
    clearInterval(timer);
    timer = undefined;
    progress?.clear();
  }
}
