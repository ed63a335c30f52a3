/**
 * login and shell: OpenMachineLogin / OpenMachineShell, then the terminal joined to the PTY master
 * of the reply (terminal/pty-forward.ts), as upstream 252's login_machine(), shell_machine() and
 * process_forward(): same arguments, the MachineRemoved match first, the same lines before and
 * after. Beyond upstream: `--wait` makes `shell … COMMAND` exit with the command's exit status
 * (terminal/exit-marker.ts).
 */
import { machineManager } from '../bus/calls.js';
import { toCallError, type BusClient } from '../bus/bus-client.js';
import { MACHINE1_BUS_NAME, MACHINE1_MANAGER_INTERFACE, MACHINE1_PATH } from '../bus/names.js';
import { CliError } from '../cli/cli-error.js';
import { ExitMarkerFilter, wrapForExitStatus } from '../terminal/exit-marker.js';
import { PtyForward } from '../terminal/pty-forward.js';
import type { Context } from './context.js';

const HOST = '.host';

function addRemovedMatch(bus: BusClient, machine: string): Promise<unknown[]> {
  const rule =
    `type='signal',sender='${MACHINE1_BUS_NAME}',path='${MACHINE1_PATH}',interface='${MACHINE1_MANAGER_INTERFACE}',` +
    `member='MachineRemoved',arg0='${machine}'`;
  return bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule] });
}

/** process_forward(): the session, and the lines around it. Resolves to the exit status. */
async function forward(ctx: Context, bus: BusClient, machine: string, master: number, login: boolean, filter?: ExitMarkerFilter): Promise<number> {
  if (!ctx.options.quiet) {
    ctx.log(
      machine === HOST
        ? 'Connected to the local host. Press ^] three times within 1s to exit session.'
        : `Connected to machine ${machine}. Press ^] three times within 1s to exit session.`,
      'info',
    );
  }
  const fwd = new PtyForward({ master, ignoreInitialHangup: login, filter });
  let removed = false;
  bus.onSignal((m) => {
    if (m.member !== 'MachineRemoved' || m.body?.[0] !== machine) return;
    removed = true;
    // As upstream: what is queued still drains, and the next hangup ends the session.
    fwd.honourHangup();
  });
  const stop = () => fwd.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  fwd.start();
  await fwd.done;
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  if (fwd.lastByte !== undefined && fwd.lastByte !== 0x0a) process.stdout.write('\n');
  if (!ctx.options.quiet) {
    if (login && removed) ctx.log(`Machine ${machine} terminated.`, 'info');
    else if (machine === HOST) ctx.log('Connection to the local host terminated.', 'info');
    else ctx.log(`Connection to machine ${machine} terminated.`, 'info');
  }
  return 0;
}

export async function loginMachine(ctx: Context): Promise<number> {
  if (ctx.options.transport.kind === 'remote') throw new CliError('Login only supported on local machines.');
  if (ctx.options.setenv.length > 0 || ctx.options.uid !== undefined) {
    throw new CliError("--setenv= and --uid= are not supported for 'login'. Use 'shell' instead.");
  }
  const machine = ctx.args[0] || HOST;
  const bus = await ctx.bus({ unixFds: true });
  let master: number;
  try {
    await addRemovedMatch(bus, machine);
    [master] = (await bus.call(machineManager('OpenMachineLogin', 's', [machine]))) as [number, string];
  } catch (e) {
    throw new CliError(`Failed to get login PTY: ${toCallError(e).message}`);
  }
  return forward(ctx, bus, machine, master, true);
}

export async function shellMachine(ctx: Context): Promise<number> {
  if (ctx.options.transport.kind === 'remote') throw new CliError('Shell only supported on local machines.');
  // Pass $TERM on, unless given with -E.
  const env = [...ctx.options.setenv];
  if (!env.some((e) => e.startsWith('TERM=')) && process.env.TERM !== undefined) env.push(`TERM=${process.env.TERM}`);

  let machine = ctx.args[0] || '';
  let user = ctx.options.uid ?? '';
  if (ctx.options.uid === undefined && machine.includes('@')) {
    const at = machine.indexOf('@');
    user = machine.slice(0, at);
    machine = machine.slice(at + 1);
  }
  if (machine === '') machine = HOST;
  let path = ctx.args[1] || '';
  let args = ctx.args.length <= 2 ? [] : ctx.args.slice(1);

  let filter: ExitMarkerFilter | undefined;
  if (ctx.options.wait) {
    if (path === '') throw new CliError('--wait needs a command to run (shell [USER@]NAME COMMAND…).');
    const wrapped = wrapForExitStatus(path, args.length > 0 ? args : [path]);
    path = wrapped.path;
    args = wrapped.argv;
    filter = new ExitMarkerFilter();
  }

  const bus = await ctx.bus({ unixFds: true });
  let master: number;
  try {
    await addRemovedMatch(bus, machine);
    [master] = (await bus.call(machineManager('OpenMachineShell', 'sssasas', [machine, user, path, args, env]))) as [number, string];
  } catch (e) {
    throw new CliError(`Failed to get shell PTY: ${toCallError(e).message}`);
  }
  const rc = await forward(ctx, bus, machine, master, false, filter);
  if (!filter) return rc;
  if (filter.status === undefined) {
    ctx.log('The command\'s exit status is unknown: the session ended before it was reported.');
    return 255;
  }
  return filter.status;
}
