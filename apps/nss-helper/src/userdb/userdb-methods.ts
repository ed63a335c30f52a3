/**
 * io.systemd.UserDatabase on `/run/systemd/userdb/io.systemd.Machine`, translated as machined's
 * vl_method_get_{user,group}_record / vl_method_get_memberships do: dispatch the parameters,
 * insist on service "io.systemd.Machine", look up by number first, else by name, refuse to
 * enumerate, and report a record that matches only one of number and name as a conflict.
 */
import { type Account, ContainerAccounts } from './container-accounts.js';
import { groupRecord, MACHINE_USERDB_SERVICE, userRecord } from './records.js';
import { stringIsSafe, uidIsValid, type IdKind } from './user-names.js';
import { UserDatabaseErrors, VarlinkErrors } from './varlink-errors.js';
import { USER_DATABASE_DESCRIPTION, USER_DATABASE_INTERFACE } from './varlink-interfaces.js';
import type { VarlinkInterface } from './varlink-server.js';
import type { JsonObject } from './varlink-wire.js';

type FieldType = 'id' | 'name' | 'string';

/**
 * json_dispatch with upstream's table: unknown fields and wrong types are refused (reported as
 * InvalidParameter naming the field, as current systemd does); null means "not given".
 */
function dispatch(parameters: JsonObject, table: Record<string, FieldType>): Record<string, string | number | undefined> {
  const out: Record<string, string | number | undefined> = {};
  for (const [key, value] of Object.entries(parameters)) {
    const type = Object.hasOwn(table, key) ? table[key] : undefined;
    if (type === undefined) throw VarlinkErrors.invalidParameter(key);
    if (value === null) continue;
    if (type === 'id') {
      if (typeof value !== 'number' || !uidIsValid(value)) throw VarlinkErrors.invalidParameter(key);
    } else if (typeof value !== 'string' || (type === 'name' && !stringIsSafe(value))) {
      throw VarlinkErrors.invalidParameter(key);
    }
    out[key] = value;
  }
  return out;
}

function checkService(p: Record<string, unknown>): void {
  if (p.service !== MACHINE_USERDB_SERVICE) throw UserDatabaseErrors.badService();
}

const FIELDS: Record<IdKind, { id: string; name: string }> = {
  user: { id: 'uid', name: 'userName' },
  group: { id: 'gid', name: 'groupName' },
};

function getRecord(accounts: ContainerAccounts, kind: IdKind, parameters: JsonObject): JsonObject {
  const f = FIELDS[kind];
  const p = dispatch(parameters, { [f.id]: 'id', [f.name]: 'name', service: 'string' });
  checkService(p);
  const id = p[f.id] as number | undefined;
  const name = p[f.name] as string | undefined;
  let found: Account | null;
  if (id !== undefined) found = accounts.byId(kind, id);
  else if (name !== undefined) found = accounts.byName(kind, name);
  else throw UserDatabaseErrors.enumerationNotSupported();
  if (!found) throw UserDatabaseErrors.noRecordFound();
  if ((name !== undefined && name !== found.name) || (id !== undefined && id !== found.id)) throw UserDatabaseErrors.conflictingRecordFound();
  const record = kind === 'user' ? userRecord(found.name, found.id, found.comment) : groupRecord(found.name, found.id, found.comment);
  return { record };
}

export function userDatabaseInterface(accounts: ContainerAccounts): VarlinkInterface {
  return {
    name: USER_DATABASE_INTERFACE,
    description: USER_DATABASE_DESCRIPTION,
    methods: {
      GetUserRecord: (parameters) => getRecord(accounts, 'user', parameters),
      GetGroupRecord: (parameters) => getRecord(accounts, 'group', parameters),
      GetMemberships: (parameters) => {
        checkService(dispatch(parameters, { userName: 'name', groupName: 'name', service: 'string' }));
        // Containers' users have no auxiliary groups, upstream says; so there is never a membership.
        throw UserDatabaseErrors.noRecordFound();
      },
    },
  };
}
