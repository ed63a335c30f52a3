/**
 * machined: wiring only. Parse the configuration, connect to the system bus, pick the cgroup
 * backend, re-adopt surviving machines, serve org.freedesktop.machine1 and the internal channel,
 * and shut down cleanly on SIGTERM.
 */
import { selectScopeBackend, systemdIsServiceManager } from '@machined/cgroup';
import { Systemd1Service } from './systemd1/systemd1-service.js';
import { adoptLeftoverUnits } from './launcher/leftovers.js';
import { createLaunching } from './launcher/setup.js';
import {
  DBUS_NAME_FLAG_DO_NOT_QUEUE,
  DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER,
  MACHINE1_BUS_NAME,
  MACHINE1_PATH,
  MANAGER_INTERFACE,
  connectSystemBus,
  nameHasOwner,
  Authorizer,
  BusCallerLookup,
  ObjectServer,
  createLogger,
  CompositeTree,
  SYSTEMD1_BUS_NAME,
  SYSTEMD1_PATH,
  handleDaemonCli,
  runDaemonMain,
  serveUntilStopped,
} from '@machined/protocol';
import { imageHandlers } from './bus/image-bus.js';
import { machineHandlers } from './bus/machine-bus.js';
import { MachineTree } from './bus/machine-tree.js';
import { managerInterface } from './bus/manager-bus.js';
import { ChannelServer } from './channel/channel-server.js';
import { USAGE, parseConfig } from './config.js';
import { ImagePool } from './images/pool.js';
import { notifyReady } from './notify.js';
import { Registry } from './registry/registry.js';
import { restoreMachines } from './registry/restore.js';
import { StateStore } from './state/state-store.js';
import { VERSION } from './version.js';

async function main(): Promise<number> {
  const cfg = handleDaemonCli('machined', USAGE, VERSION, () => parseConfig(process.argv.slice(2), process.env));
  if (typeof cfg === 'number') return cfg;
  const log = createLogger(cfg.logLevel);

  const bus = await connectSystemBus({ address: cfg.busAddress, negotiateUnixFd: true });
  if (await nameHasOwner(bus, MACHINE1_BUS_NAME)) {
    log.error(`${MACHINE1_BUS_NAME} is already owned on ${cfg.busAddress} (is systemd-machined or another machined running?); exiting.`);
    bus.disconnect();
    return 1;
  }

  const backend = await selectScopeBackend({ bus, prefer: cfg.cgroupBackend });
  log.info(`Using the ${backend.kind} backend on a ${backend.hierarchy} cgroup hierarchy.`);
  const store = new StateStore(cfg.stateDir);
  const registry = new Registry({ backend, store, log, terminateTimeoutMs: cfg.terminateTimeoutMs });
  const restored = await restoreMachines(registry, store, log);
  if (restored > 0) log.info(`Restored ${restored} machine(s) from ${cfg.stateDir}.`);

  const authorizer = new Authorizer(bus, log);
  const handlers = machineHandlers({ registry, authorizer, libexecDir: cfg.libexecDir });
  const pool = new ImagePool({ poolPath: cfg.poolPath, searchPath: cfg.imageSearchPath, runtimeDir: cfg.runtimeDir, log, machines: () => registry.list() });
  const images = imageHandlers({ pool, authorizer });
  const manager = managerInterface({ registry, authorizer, handlers, pool, imageHandlers: images });
  // Where PID 1 is not systemd nobody answers org.freedesktop.systemd1; machine clients need a
  // slice of it (machinectl status, nspawn's RequestStop, libvirt), so machined offers that slice.
  const offerSystemd1 =
    cfg.systemd1 === 'auto' && !(await systemdIsServiceManager({ bus })) && !(await nameHasOwner(bus, SYSTEMD1_BUS_NAME));
  let server: ObjectServer | undefined;
  // Starting pool images (machinectl start/enable) needs the systemd1 slice: clients ask systemd1.
  const launching = offerSystemd1 ? createLaunching({ cfg, registry, backend, pool, log }) : undefined;
  const systemd1 = offerSystemd1 ? new Systemd1Service(registry, backend, authorizer, () => server!, launching) : undefined;
  const tree = new CompositeTree([
    { root: MACHINE1_PATH, busName: MACHINE1_BUS_NAME, tree: new MachineTree(registry, manager, handlers, pool, images) },
    ...(systemd1 ? [{ root: SYSTEMD1_PATH, busName: SYSTEMD1_BUS_NAME, tree: systemd1 }] : []),
  ]);
  server = new ObjectServer(bus, tree, new BusCallerLookup(bus), log);
  const channel = new ChannelServer(cfg.runtimeDir, () => registry.list().map((m) => m.toRecord()), log);

  registry.on('added', (m) => {
    server.emitSignal(MACHINE1_PATH, MANAGER_INTERFACE, 'MachineNew', [m.name, m.path]);
    channel.publish({ type: 'machine.new', machine: m.toRecord() });
  });
  registry.on('removed', (m) => {
    server.emitSignal(MACHINE1_PATH, MANAGER_INTERFACE, 'MachineRemoved', [m.name, m.path]);
    channel.publish({ type: 'machine.removed', name: m.name });
  });
  registry.on('changed', (m) => channel.publish({ type: 'machine.changed', machine: m.toRecord() }));

  const reply = await bus.requestName(MACHINE1_BUS_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE);
  if (reply !== DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
    log.error(`${MACHINE1_BUS_NAME} was taken by another process while starting; exiting.`);
    await registry.close();
    bus.disconnect();
    return 1;
  }
  let ownsSystemd1 = false;
  if (systemd1) {
    if ((await bus.requestName(SYSTEMD1_BUS_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE)) === DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
      registry.setStopRequester((m) => systemd1.requestStop(m));
      ownsSystemd1 = true;
      log.info(`Also serving the machine units of ${SYSTEMD1_BUS_NAME} (PID 1 is not systemd).`);
    } else {
      log.warning(`${SYSTEMD1_BUS_NAME} was taken by another process; not offering it.`);
    }
  }
  // Bound only once the name is ours: binding would steal the sockets of a running machined.
  await channel.start();
  await pool.start();
  registry.startLeaderPolling();
  const leftoverWatches = ownsSystemd1 ? adoptLeftoverUnits(registry, backend, log) : [];
  // Enabled machines start with machined: this works under every init system (see launcher/enablement.ts).
  if (ownsSystemd1) systemd1!.startEnabled();
  await notifyReady(log);
  log.info(`Serving ${MACHINE1_BUS_NAME} on ${cfg.busAddress} with state in ${cfg.stateDir}.`);

  return serveUntilStopped(bus, log, async () => {
    launching?.starter.close();
    for (const stop of leftoverWatches) stop();
    await registry.close();
    await channel.close();
    await pool.close();
    await backend.close().catch(() => {});
  });
}

runDaemonMain('machined', main);

