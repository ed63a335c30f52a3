/**
 * JSON user and group records (systemd docs/USER_RECORD.md, GROUP_RECORD.md) exactly as machined
 * builds them for container users: same fields, same order, same constants.
 */
import type { JsonObject } from './varlink-wire.js';

/** GID_NOBODY: a container user's primary group on the host is nobody's. */
export const GID_NOBODY = 65534;
/** NOLOGIN as Debian's systemd 252 is built (`/usr/sbin/nologin`). */
export const NOLOGIN = '/usr/sbin/nologin';
/** The userdb service name, which is also the socket's base name. */
export const MACHINE_USERDB_SERVICE = 'io.systemd.Machine';

export function userRecord(userName: string, uid: number, realName: string | null): JsonObject {
  return {
    userName,
    uid,
    gid: GID_NOBODY,
    ...(realName ? { realName } : {}),
    homeDirectory: '/',
    shell: NOLOGIN,
    locked: true,
    service: MACHINE_USERDB_SERVICE,
    disposition: 'container',
  };
}

export function groupRecord(groupName: string, gid: number, description: string | null): JsonObject {
  return {
    groupName,
    gid,
    ...(description ? { description } : {}),
    service: MACHINE_USERDB_SERVICE,
    disposition: 'container',
  };
}
