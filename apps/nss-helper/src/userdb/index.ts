/**
 * The userdb service of nss-helper: io.systemd.UserDatabase for the users and groups of
 * user-namespaced containers, where nss-systemd (`passwd: files systemd`) and userdbctl look for
 * it. main.ts calls startUserdb with the live machine table.
 */
import { basename } from 'node:path';
import type { Logger } from '@machined/protocol';
import { ContainerAccounts } from './container-accounts.js';
import { readIdMap } from './id-map.js';
import type { MachineSource } from './machine-source.js';
import { MACHINE_USERDB_SERVICE } from './records.js';
import { userDatabaseInterface } from './userdb-methods.js';
import { VarlinkServer } from './varlink-server.js';

export type { MachineSource, SourceMachine } from './machine-source.js';

/** Where nss-systemd and userdbctl find the service: the socket's name is the service name. */
export const DEFAULT_USERDB_SOCKET = `/run/systemd/userdb/${MACHINE_USERDB_SERVICE}`;

export interface UserdbOptions {
  table: MachineSource;
  /** Defaults to /run/systemd/userdb/io.systemd.Machine. */
  socketPath?: string;
  logger?: Logger;
  /** Where leaders' uid_map / gid_map are read; only tests change it. */
  procRoot?: string;
}

export interface UserdbService {
  close(): Promise<void>;
}

export async function startUserdb(options: UserdbOptions): Promise<UserdbService> {
  const procRoot = options.procRoot ?? '/proc';
  const accounts = new ContainerAccounts(options.table, (pid, kind) => readIdMap(procRoot, pid, kind));
  const server = new VarlinkServer({
    info: { vendor: 'machined', product: 'nss-helper (io.systemd.Machine userdb)', version: '252', url: 'https://systemd.io/USER_GROUP_API' },
    interfaces: [userDatabaseInterface(accounts)],
    logger: options.logger,
  });
  const socketPath = options.socketPath ?? DEFAULT_USERDB_SOCKET;
  // Mode 0666 as upstream: every local program resolves user names through it.
  await server.listen(socketPath, 0o666);
  // userdb clients send the socket's file name as `service`; any other name gets BadService.
  if (basename(socketPath) !== MACHINE_USERDB_SERVICE) {
    options.logger?.warning(`userdb: ${socketPath} is not named ${MACHINE_USERDB_SERVICE}; nss-systemd and userdbctl will get BadService from it`);
  }
  options.logger?.info(`userdb: serving io.systemd.UserDatabase on ${socketPath}`);
  return { close: () => server.close() };
}

/**
 * The socket path from the environment: MACHINED_USERDB_SOCKET overrides the default, and an empty
 * value turns the service off (for runs that must not touch /run/systemd/userdb).
 */
export function userdbSocketFromEnv(env: NodeJS.ProcessEnv): string | null {
  const v = env.MACHINED_USERDB_SOCKET;
  if (v === undefined) return DEFAULT_USERDB_SOCKET;
  if (v === '') return null;
  if (!v.startsWith('/')) throw new Error(`MACHINED_USERDB_SOCKET: '${v}' is not an absolute path`);
  if (Buffer.byteLength(v) >= 108) throw new Error(`MACHINED_USERDB_SOCKET: '${v}' is longer than a unix socket path may be (107 bytes)`);
  return v;
}
