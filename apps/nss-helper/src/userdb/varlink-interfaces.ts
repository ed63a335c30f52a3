/**
 * The served interfaces in varlink's IDL, as GetInterfaceDescription hands them out. Wording and
 * field types follow systemd's definitions (src/shared/varlink-io.systemd.UserDatabase.c,
 * varlink-org.varlink.service.c) and varlink.org's service interface.
 */

export const VARLINK_SERVICE_DESCRIPTION = `# The Varlink Service Interface is provided by every varlink service. It
# describes the service and the interfaces it implements.
interface org.varlink.service

# Get a list of all the interfaces a service provides and information
# about the implementation.
method GetInfo() -> (
\tvendor: string,
\tproduct: string,
\tversion: string,
\turl: string,
\tinterfaces: []string
)

# Get the description of an interface that is implemented by this service.
method GetInterfaceDescription(interface: string) -> (description: string)

# The requested interface was not found.
error InterfaceNotFound (interface: string)

# The requested method was not found
error MethodNotFound (method: string)

# The interface defines the requested method, but the service does not
# implement it.
error MethodNotImplemented (method: string)

# One of the passed parameters is invalid.
error InvalidParameter (parameter: string)

# Client is denied access
error PermissionDenied ()

# Method is expected to be called with 'more' set to true, but wasn't
error ExpectedMore ()
`;

export const USER_DATABASE_INTERFACE = 'io.systemd.UserDatabase';

export const USER_DATABASE_DESCRIPTION = `# APIs for querying user and group records.
interface io.systemd.UserDatabase

# Retrieve one or more user records. Look-up is either keyed by UID or user name, or if neither is specified all known records are enumerated.
# [Supports 'more' flag]
method GetUserRecord(
\t# The numeric 32bit UNIX UID of the record, if look-up by UID is desired.
\tuid: ?int,
\t# The UNIX user name of the record, if look-up by name is desired.
\tuserName: ?string,
\t# The userdb provider service to search on. Must be set to the base name of the userdb entrypoint socket. This is necessary in order to support services that implement multiple userdb services on the same socket.
\tservice: string
) -> (
\t# The retrieved user record.
\trecord: object,
\t# If set to true, indicates that the user record is not complete, i.e. that the 'privileged' section has been stripped because the client lacks the privileges to access it.
\tincomplete: ?bool
)

# Retrieve one or more group records. Look-up is either keyed by GID or group name, or if neither is specified all known records are enumerated.
# [Supports 'more' flag]
method GetGroupRecord(
\t# The numeric 32bit UNIX GID of the record, if look-up by GID is desired.
\tgid: ?int,
\t# The UNIX group name of the record, if look-up by name is desired.
\tgroupName: ?string,
\t# The userdb provider service to search on. Must be set to the base name of the userdb entrypoint socket. This is necessary in order to support services that implement multiple userdb services on the same socket.
\tservice: string
) -> (
\t# The retrieved group record.
\trecord: object,
\t# If set to true, indicates that the group record is not complete, i.e. that the 'privileged' section has been stripped because the client lacks the privileges to access it.
\tincomplete: ?bool
)

# Retrieve membership relationships between users and groups.
# [Supports 'more' flag]
method GetMemberships(
\t# The UNIX user name of the user to search for memberships for.
\tuserName: ?string,
\t# The UNIX group name of the group to search for memberships for.
\tgroupName: ?string,
\t# The userdb provider to search on. Must be set to the base name of the userdb entrypoint socket. This is necessary in order to support services that implement multiple userdb services on the same socket.
\tservice: string
) -> (
\t# The UNIX user name of a discovered membership relationship.
\tuserName: string,
\t# The UNIX group name of a discovered membership relationship.
\tgroupName: string
)

# Error indicating that no matching user or group record was found.
error NoRecordFound ()

# Error indicating that the contacted service does not implement the specified service name.
error BadService ()

# Error indicating that the backing service currently is not operational and no answer can be provided.
error ServiceNotAvailable ()

# Error indicating that there's a user record matching either UID/GID or the user/group name, but not both at the same time.
error ConflictingRecordFound ()

# Error indicating that retrieval of user/group records on this service is only supported if either user/group name or UID/GID are specified, but not if nothing is specified.
error EnumerationNotSupported ()
`;
