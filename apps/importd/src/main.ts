/**
 * importd: wiring only. Parse the configuration, connect to the system bus, clear what a killed
 * predecessor left in the pool, serve org.freedesktop.import1, announce pool changes to machined,
 * and shut down cleanly on SIGTERM (running transfers are cancelled and cleaned up first).
 */
import {
  DBUS_NAME_FLAG_DO_NOT_QUEUE,
  DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER,
  IMPORT1_BUS_NAME,
  IMPORT1_MANAGER,
  IMPORT1_PATH,
  IMPORT1_TRANSFER,
  Authorizer,
  BusCallerLookup,
  ObjectServer,
  connectSystemBus,
  createLogger,
  nameHasOwner,
  handleDaemonCli,
  runDaemonMain,
  serveUntilStopped,
} from '@machined/protocol';
import { ImportTree } from './bus/import-tree.js';
import { managerInterface } from './bus/manager-bus.js';
import { PoolNotices } from './channel/pool-notices.js';
import { USAGE, parseConfig } from './config.js';
import { Pool } from './image/pool.js';
import { Transfers } from './transfer/transfers.js';

const VERSION = '0.1.0';

async function main(): Promise<number> {
  const cfg = handleDaemonCli('importd', USAGE, VERSION, () => parseConfig(process.argv.slice(2), process.env));
  if (typeof cfg === 'number') return cfg;
  const log = createLogger(cfg.logLevel);
  // A stray rejection must not take running transfers down with the daemon; each transfer
  // reports its own failure, this only records the bug.
  process.on('unhandledRejection', (e) => log.error(`Unhandled rejection (a bug): ${(e as Error)?.stack ?? String(e)}`));

  const bus = await connectSystemBus({ address: cfg.busAddress, negotiateUnixFd: true });
  if (await nameHasOwner(bus, IMPORT1_BUS_NAME)) {
    log.error(`${IMPORT1_BUS_NAME} is already owned on ${cfg.busAddress} (is systemd-importd or another importd running?); exiting.`);
    bus.disconnect();
    return 1;
  }

  const pool = new Pool(cfg.poolPath, (line) => log.debug(line));
  const notices = new PoolNotices(cfg.runtimeDir, log);
  const transfers = new Transfers();
  const authorizer = new Authorizer(bus, log);
  const jobs = { pool, notifier: notices, keyrings: cfg.keyrings, httpIdleTimeoutMs: 30_000 };
  const manager = managerInterface({ transfers, authorizer, jobs });
  const server = new ObjectServer(bus, new ImportTree(transfers, manager, authorizer), new BusCallerLookup(bus), log);

  transfers.on('new', (t) => {
    log.info(`Transfer ${t.id} (${t.info.type} ${t.info.remote || '-'} → ${t.info.local}) started.`);
    t.on('log', (priority, line) => {
      log.debug(`transfer ${t.id}: ${line}`);
      server.emitSignal(t.path, IMPORT1_TRANSFER, 'LogMessage', [priority, line]);
    });
    t.on('progress', (fraction) => server.emitSignal(t.path, IMPORT1_TRANSFER, 'ProgressUpdate', [fraction]));
    server.emitSignal(IMPORT1_PATH, IMPORT1_MANAGER, 'TransferNew', [t.id, t.path]);
  });
  transfers.on('removed', (t, result) => {
    log.info(`Transfer ${t.id} ${result}.`);
    server.emitSignal(IMPORT1_PATH, IMPORT1_MANAGER, 'TransferRemoved', [t.id, t.path, result]);
  });

  // Taken before any call can start a transfer, so that no temporary of ours is among them.
  const stale = await pool.listTemporaries();
  const reply = await bus.requestName(IMPORT1_BUS_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE);
  if (reply !== DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
    log.error(`${IMPORT1_BUS_NAME} was taken by another process while starting; exiting.`);
    await notices.close();
    bus.disconnect();
    return 1;
  }
  // Only once the name is ours: another importd's temporaries are not stale while it runs.
  await pool.removeTemporaries(stale);
  if (stale.length > 0) log.info(`Removed ${stale.length} stale temporary image(s) from ${cfg.poolPath}: ${stale.join(', ')}`);
  log.info(`Serving ${IMPORT1_BUS_NAME} on ${cfg.busAddress} with the pool in ${cfg.poolPath}.`);

  return serveUntilStopped(bus, log, async () => {
    transfers.cancelAll();
    const deadline = Date.now() + 10_000;
    while (transfers.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await notices.close();
  });
}

runDaemonMain('importd', main);

