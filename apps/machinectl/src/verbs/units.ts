/**
 * start / enable / disable: these go to org.freedesktop.systemd1 (systemd-nspawn@NAME.service),
 * after checking with machine1 that the image exists, as upstream does. start waits for its jobs
 * to finish (JobRemoved); enable/disable then reload the manager; `--now` (253) also starts or
 * powers off.
 */
import { hostnameIsValid, NO_SUCH_IMAGE_ERROR, SYSTEMD1_BUS_NAME, SYSTEMD1_MANAGER_INTERFACE, SYSTEMD1_PATH } from '../bus/names.js';
import { toCallError, type BusClient } from '../bus/bus-client.js';
import { machineManager, systemdManager } from '../bus/calls.js';
import { CliError } from '../cli/cli-error.js';
import { SIGRTMIN } from '../cli/signals.js';
import type { Context } from './context.js';
import { couldNot } from './errors.js';

function serviceName(name: string): string {
  if (!hostnameIsValid(name)) throw new CliError(`Invalid machine name ${name}.`);
  return `systemd-nspawn@${name}.service`;
}

async function imageExists(bus: BusClient, name: string): Promise<void> {
  try {
    await bus.call(machineManager('GetImage', 's', [name]));
  } catch (e) {
    const err = toCallError(e);
    if (err.errorName === NO_SUCH_IMAGE_ERROR) throw new CliError(`Machine image '${name}' does not exist.`);
    throw new CliError(`Failed to check whether image ${name} exists: ${err.message}`);
  }
}

const JOB_FAILURES: Record<string, (u: string) => string> = {
  canceled: (u) => `Job for ${u} canceled.`,
  timeout: (u) => `Job for ${u} timed out.`,
  dependency: (u) => `A dependency job for ${u} failed. See 'journalctl -xe' for details.`,
  invalid: (u) => `${u} is not active, cannot reload.`,
  assert: (u) => `Assertion failed on job for ${u}.`,
  unsupported: (u) => `Operation on or unit type of ${u} not supported on this system.`,
  collected: (u) => `Queued job for ${u} was garbage collected.`,
  once: (u) => `Unit ${u} was started already once and can't be started again.`,
};

async function addMatch(bus: BusClient, rule: string): Promise<void> {
  await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule] });
}

export async function startMachines(ctx: Context): Promise<number> {
  const bus = await ctx.bus();
  // Subscribe before queuing, so no JobRemoved can be missed (bus_wait_for_jobs_new()).
  const finished = new Map<string, { unit: string; result: string }>();
  let wake: (() => void) | undefined;
  bus.onSignal((m) => {
    if (m.interface === SYSTEMD1_MANAGER_INTERFACE && m.member === 'JobRemoved') {
      const [, job, unit, result] = m.body as [number, string, string, string];
      finished.set(job, { unit, result });
      wake?.();
    }
  });
  try {
    await addMatch(bus, `type='signal',sender='${SYSTEMD1_BUS_NAME}',interface='${SYSTEMD1_MANAGER_INTERFACE}',member='JobRemoved',path='${SYSTEMD1_PATH}'`);
  } catch (e) {
    return couldNot(ctx, 'Failed to enable subscription', e);
  }
  const jobs: Array<{ job: string; unit: string }> = [];
  for (const name of ctx.args) {
    const unit = serviceName(name);
    await imageExists(bus, name);
    try {
      const [job] = (await bus.call(systemdManager('StartUnit', 'ss', [unit, 'fail']))) as [string];
      jobs.push({ job, unit });
    } catch (e) {
      return couldNot(ctx, 'Failed to start unit', e);
    }
  }
  let rc = 0;
  for (const { job, unit } of jobs) {
    while (!finished.has(job)) await new Promise<void>((r) => (wake = r));
    const { result } = finished.get(job)!;
    if (result === 'done' || result === 'skipped') continue;
    rc = 1;
    if (!ctx.options.quiet) {
      const f = JOB_FAILURES[result];
      ctx.log(f ? f(unit) : `Job for ${unit} failed.\nSee "systemctl status ${unit}" and "journalctl -xeu ${unit}" for details.`);
    }
  }
  return rc;
}

export async function enableMachines(ctx: Context): Promise<number> {
  const bus = await ctx.bus();
  const enable = ctx.verb === 'enable';
  const units: string[] = [];
  for (const name of ctx.args) {
    const unit = serviceName(name);
    await imageExists(bus, name);
    units.push(unit);
  }
  let reply: unknown[];
  try {
    reply = enable
      ? await bus.call(systemdManager('EnableUnitFiles', 'asbb', [units, false, false]))
      : await bus.call(systemdManager('DisableUnitFiles', 'asb', [units, false]));
  } catch (e) {
    return couldNot(ctx, 'Failed to enable or disable unit', e);
  }
  const changes = (enable ? reply[1] : reply[0]) as Array<[string, string, string]> | undefined;
  if (!ctx.options.quiet) {
    for (const [type, path, source] of changes ?? []) {
      if (type === 'symlink') ctx.log(`Created symlink ${path} → ${source}.`, 'info');
      else if (type === 'unlink') ctx.log(`Removed "${path}".`, 'info');
    }
  }
  try {
    await bus.call(systemdManager('Reload'));
  } catch (e) {
    return couldNot(ctx, 'Failed to reload daemon', e);
  }
  if (ctx.options.now) {
    if (enable) return startMachines(ctx);
    for (const name of ctx.args) {
      try {
        await bus.call(machineManager('KillMachine', 'ssi', [name, 'leader', SIGRTMIN + 4]));
      } catch (e) {
        return couldNot(ctx, 'Could not kill machine', e);
      }
    }
  }
  return 0;
}
