/**
 * systemd's answers that arrive as signals rather than replies: JobRemoved (the end of a start
 * job), UnitRemoved and a unit's ActiveState (the end of a unit). One subscription per backend,
 * one message listener routing to whoever waits.
 */
import dbus, { type Message, type MessageBus } from 'dbus-next';
import {
  MANAGER_INTERFACE, PROPERTIES_INTERFACE, SYSTEMD1_NAME, SYSTEMD1_PATH, UNIT_INTERFACE, addMatch, callMethod,
  dbusErrorName, nameOwner, removeMatch, systemdSignalRule,
} from './systemd-bus.js';
import { systemdUnitObjectPath } from '@machined/protocol';

const JOB_REMOVED_RULE = systemdSignalRule(MANAGER_INTERFACE, 'JobRemoved', SYSTEMD1_PATH);
const UNIT_REMOVED_RULE = systemdSignalRule(MANAGER_INTERFACE, 'UnitRemoved', SYSTEMD1_PATH);
/**
 * One rule for every unit's state changes, as upstream machined has: a rule per machine unit would
 * run into dbus-daemon's max_match_rules_per_connection (512 by default) at a few hundred machines.
 */
const UNIT_PROPERTIES_RULE =
  `${systemdSignalRule(PROPERTIES_INTERFACE, 'PropertiesChanged')},path_namespace='${SYSTEMD1_PATH}/unit',arg0='${UNIT_INTERFACE}'`;

interface UnitWatch {
  unit: string;
  unitPath: string;
  gone(): void;
}

export interface UnitEndWatch {
  /** Resolves once the match rules are in place: a state read after it cannot miss the end. */
  ready: Promise<void>;
  stop(): void;
}

export class SystemdSignals {
  private subscription: Promise<void> | undefined;
  private systemdOwner: string | undefined;
  private readonly jobWaiters = new Map<string, (result: string) => void>();
  /** JobRemoved can overtake the reply that names the job; results are kept while starts are pending. */
  private readonly earlyJobResults = new Map<string, string>();
  private startsPending = 0;
  private readonly unitWatches = new Set<UnitWatch>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly onMessage = (msg: Message): void => this.receive(msg);

  constructor(private readonly bus: MessageBus, private readonly callTimeoutMs?: number) {}

  /** Match rules and Subscribe, once, before the first call whose outcome arrives as a signal. */
  subscribe(): Promise<void> {
    this.subscription ??= (async () => {
      this.bus.on('message', this.onMessage);
      await addMatch(this.bus, JOB_REMOVED_RULE);
      await addMatch(this.bus, UNIT_REMOVED_RULE);
      await addMatch(this.bus, UNIT_PROPERTIES_RULE);
      this.systemdOwner = await nameOwner(this.bus, SYSTEMD1_NAME);
      await callMethod(this.bus, {
        destination: SYSTEMD1_NAME, path: SYSTEMD1_PATH, interface: MANAGER_INTERFACE, member: 'Subscribe',
      }, this.callTimeoutMs).catch((err: unknown) => {
        if (dbusErrorName(err) !== 'org.freedesktop.systemd1.AlreadySubscribed') throw err;
      });
    })().catch((err: unknown) => {
      this.bus.removeListener('message', this.onMessage);
      this.subscription = undefined;
      throw err;
    });
    return this.subscription;
  }

  /** Runs `start` (a call returning a job path) and resolves with the job's result: `done`, `failed`, … */
  async runJob(start: () => Promise<string>, timeoutMs: number): Promise<string> {
    await this.subscribe();
    this.startsPending++;
    try {
      return await this.waitForJob(await start(), timeoutMs);
    } finally {
      if (--this.startsPending === 0) this.earlyJobResults.clear();
    }
  }

  private waitForJob(job: string, timeoutMs: number): Promise<string> {
    const early = this.earlyJobResults.get(job);
    if (early !== undefined) {
      this.earlyJobResults.delete(job);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.jobWaiters.delete(job);
        reject(new dbus.DBusError('org.freedesktop.DBus.Error.Timeout', `No JobRemoved for ${job} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.jobWaiters.set(job, (result) => {
        clearTimeout(timer);
        this.jobWaiters.delete(job);
        resolve(result);
      });
    });
  }

  /** Calls onGone on UnitRemoved or when ActiveState becomes inactive or failed. */
  watchUnitEnd(unit: string, onGone: () => void): UnitEndWatch {
    const watch: UnitWatch = { unit, unitPath: systemdUnitObjectPath(unit), gone: onGone };
    this.unitWatches.add(watch);
    // The subscription's rules already cover every unit: ready once they are in place.
    const ready = this.subscribe();
    this.track(ready);
    return {
      ready,
      stop: () => {
        this.unitWatches.delete(watch);
      },
    };
  }

  /** Keeps close() waiting for a bus call made on a watch's behalf. */
  track(call: Promise<unknown>): void {
    const settled = call.catch(() => undefined);
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
  }

  /** Honours signals only from systemd's own connection: any bus client may emit a JobRemoved. */
  private receive(msg: Message): void {
    if (msg.type !== dbus.MessageType.SIGNAL) return;
    if (msg.sender === this.systemdOwner) {
      this.dispatch(msg);
      return;
    }
    // systemd comes back under a new unique name after daemon-reexec.
    void nameOwner(this.bus, SYSTEMD1_NAME).then((owner) => {
      this.systemdOwner = owner;
      if (owner !== undefined && msg.sender === owner) this.dispatch(msg);
    }, () => undefined);
  }

  private dispatch(msg: Message): void {
    const body = msg.body;
    if (msg.interface === MANAGER_INTERFACE && msg.member === 'JobRemoved') {
      const [, job, , result] = body as [number, string, string, string];
      const waiter = this.jobWaiters.get(job);
      if (waiter) waiter(result);
      else if (this.startsPending > 0) this.earlyJobResults.set(job, result);
    } else if (msg.interface === MANAGER_INTERFACE && msg.member === 'UnitRemoved') {
      for (const watch of [...this.unitWatches]) if (watch.unit === body[0]) watch.gone();
    } else if (msg.interface === PROPERTIES_INTERFACE && msg.member === 'PropertiesChanged' && body[0] === UNIT_INTERFACE) {
      const state = (body[1] as Record<string, { value?: unknown }> | undefined)?.['ActiveState']?.value;
      if (state !== 'inactive' && state !== 'failed') return;
      for (const watch of [...this.unitWatches]) if (watch.unitPath === msg.path) watch.gone();
    }
  }

  /** Stops listening; the bus itself belongs to the caller and stays connected. */
  async close(): Promise<void> {
    await Promise.all(this.pending);
    if (this.subscription === undefined) return;
    this.bus.removeListener('message', this.onMessage);
    this.subscription = undefined;
    await Promise.all([JOB_REMOVED_RULE, UNIT_REMOVED_RULE, UNIT_PROPERTIES_RULE].map((r) => removeMatch(this.bus, r))).catch(() => undefined);
  }
}
