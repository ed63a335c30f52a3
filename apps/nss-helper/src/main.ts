/**
 * nss-helper: wiring only. Follow machined's internal channel into a live machine table, watch
 * the containers' addresses, answer host look-ups of libnss_machines.so.2 on a unix socket, and
 * shut down cleanly on SIGTERM (the socket is removed first, so look-ups fall through at once).
 */
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createLogger, handleDaemonCli, runDaemonMain, serveUntilStopped } from '@machined/protocol';
import { AddressBook } from './addresses/address-book.js';
import { USAGE, parseConfig } from './config.js';
import { HostsServer } from './hosts/hosts-server.js';
import { HostsTable } from './hosts/hosts-table.js';
import { ChannelFollower } from './table/channel-follower.js';
import { MachineTable } from './table/machine-table.js';
import { startUserdb, userdbSocketFromEnv } from './userdb/index.js';

const VERSION = '0.1.0';

async function main(): Promise<number> {
  const cfg = handleDaemonCli('nss-helper', USAGE, VERSION, () => parseConfig(process.argv.slice(2), process.env));
  if (typeof cfg === 'number') return cfg;
  const log = createLogger(cfg.logLevel);
  process.on('unhandledRejection', (e) => log.error(`Unhandled rejection (a bug): ${(e as Error)?.stack ?? String(e)}`));

  const table = new MachineTable();
  const book = new AddressBook(table, log);
  const hosts = new HostsServer(cfg.hostsSocket, book, log);
  await hosts.listen();
  // The fast path: the table published for the module to read without a round trip. Without it
  // (the lock holder cannot run) every look-up simply goes over the socket.
  const published = new HostsTable(cfg.hostsSocket, book, fileURLToPath(new URL('../libexec/nss-table-lock', import.meta.url)), log);
  const tableOk = await published.start().then(
    () => true,
    (e: Error) => {
      log.warning(`Not publishing the host table (look-ups go over the socket): ${e.message}`);
      return false;
    },
  );
  // Users and groups of user-namespaced containers for nss-systemd and userdbctl, from the same
  // table. Not fatal: if another server (a real systemd-machined) holds the socket, it answers.
  const userdbSocket = userdbSocketFromEnv(process.env);
  const userdb =
    userdbSocket === null
      ? null
      : await startUserdb({ table, socketPath: userdbSocket, logger: log }).catch((e: Error) => {
          log.warning(`userdb: not serving container users and groups: ${e.message}`);
          return null;
        });

  const follower = new ChannelFollower(cfg.runtimeDir, table, log);
  // Not awaited: until machined answers, look-ups say UNAVAIL and the next NSS source answers.
  void follower.start();
  log.info(`Serving host look-ups on ${cfg.hostsSocket}${tableOk ? ` and ${published.tablePath}` : ''}, following machined in ${cfg.runtimeDir}.`);

  // serveUntilStopped watches a connection for failure; nss-helper has no bus, only its sockets.
  const lifeline = Object.assign(new EventEmitter(), { disconnect() {} });
  return serveUntilStopped(lifeline, log, async () => {
    if (tableOk) await published.close();
    await hosts.close();
    await userdb?.close();
    await follower.close();
    book.close();
  });
}

runDaemonMain('nss-helper', main);
