/**
 * Varlink errors as named values. A method handler throws a VarlinkError; the server sends it as
 * `{error, parameters}`. Names and parameters are the ones varlink.org and systemd define, so
 * clients (nss-systemd, userdbctl, varlinkctl) recognise them.
 */
import type { JsonObject } from './varlink-wire.js';

export class VarlinkError extends Error {
  constructor(
    readonly error: string,
    readonly parameters: JsonObject = {},
  ) {
    super(`${error}${Object.keys(parameters).length > 0 ? ` ${JSON.stringify(parameters)}` : ''}`);
    this.name = 'VarlinkError';
  }
}

export const VarlinkErrors = {
  interfaceNotFound: (iface: string) => new VarlinkError('org.varlink.service.InterfaceNotFound', { interface: iface }),
  methodNotFound: (method: string) => new VarlinkError('org.varlink.service.MethodNotFound', { method }),
  methodNotImplemented: (method: string) => new VarlinkError('org.varlink.service.MethodNotImplemented', { method }),
  invalidParameter: (parameter: string) => new VarlinkError('org.varlink.service.InvalidParameter', { parameter }),
  /** What systemd's varlink sends when a handler fails with an errno and no named error. */
  system: (errno: number) => new VarlinkError('io.systemd.System', { errno }),
};

/** io.systemd.UserDatabase errors (systemd docs/USER_GROUP_API.md); none carries parameters. */
export const UserDatabaseErrors = {
  noRecordFound: () => new VarlinkError('io.systemd.UserDatabase.NoRecordFound'),
  badService: () => new VarlinkError('io.systemd.UserDatabase.BadService'),
  serviceNotAvailable: () => new VarlinkError('io.systemd.UserDatabase.ServiceNotAvailable'),
  conflictingRecordFound: () => new VarlinkError('io.systemd.UserDatabase.ConflictingRecordFound'),
  enumerationNotSupported: () => new VarlinkError('io.systemd.UserDatabase.EnumerationNotSupported'),
};
