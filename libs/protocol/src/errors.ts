/**
 * The catalog of D-Bus errors machined and importd send, one factory per error with upstream's
 * message template. Anything that reaches a client goes through here, so error names and texts
 * are defined once and tests can assert on them.
 */

export const ErrorNames = {
  NoSuchMachine: 'org.freedesktop.machine1.NoSuchMachine',
  NoSuchImage: 'org.freedesktop.machine1.NoSuchImage',
  NoMachineForPID: 'org.freedesktop.machine1.NoMachineForPID',
  MachineExists: 'org.freedesktop.machine1.MachineExists',
  NoPrivateNetworking: 'org.freedesktop.machine1.NoPrivateNetworking',
  NoSuchUserMapping: 'org.freedesktop.machine1.NoSuchUserMapping',
  NoSuchGroupMapping: 'org.freedesktop.machine1.NoSuchGroupMapping',
  JobFailed: 'org.freedesktop.systemd1.JobFailed',
  NoSuchUnit: 'org.freedesktop.systemd1.NoSuchUnit',
  NoUnitForPID: 'org.freedesktop.systemd1.NoUnitForPID',
  NoSuchTransfer: 'org.freedesktop.import1.NoSuchTransfer',
  TransferInProgress: 'org.freedesktop.import1.TransferInProgress',
  Failed: 'org.freedesktop.DBus.Error.Failed',
  InvalidArgs: 'org.freedesktop.DBus.Error.InvalidArgs',
  NotSupported: 'org.freedesktop.DBus.Error.NotSupported',
  AccessDenied: 'org.freedesktop.DBus.Error.AccessDenied',
  LimitsExceeded: 'org.freedesktop.DBus.Error.LimitsExceeded',
  InteractiveAuthorizationRequired: 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired',
  UnknownMethod: 'org.freedesktop.DBus.Error.UnknownMethod',
  UnknownObject: 'org.freedesktop.DBus.Error.UnknownObject',
  UnknownInterface: 'org.freedesktop.DBus.Error.UnknownInterface',
  UnknownProperty: 'org.freedesktop.DBus.Error.UnknownProperty',
  PropertyReadOnly: 'org.freedesktop.DBus.Error.PropertyReadOnly',
  UnixProcessIdUnknown: 'org.freedesktop.DBus.Error.UnixProcessIdUnknown',
  FileNotFound: 'org.freedesktop.DBus.Error.FileNotFound',
  FileExists: 'org.freedesktop.DBus.Error.FileExists',
  Timeout: 'org.freedesktop.DBus.Error.Timeout',
  IOError: 'org.freedesktop.DBus.Error.IOError',
  /** sd-bus's name for errnos without a D-Bus equivalent (errno_to_bus_error_const). */
  ReadOnlyFileSystem: 'System.Error.EROFS',
  Busy: 'System.Error.EBUSY',
} as const;

export type ErrorName = (typeof ErrorNames)[keyof typeof ErrorNames];

/** An error meant for a D-Bus client: its name and a one-line message, never a stack. */
export class BusError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = 'BusError';
  }
}

export function isBusError(e: unknown): e is BusError {
  return e instanceof BusError;
}

const make = (name: string, message: string) => new BusError(name, message);

const ERRNO_BUS_ERRORS: Record<string, string> = {
  EPERM: ErrorNames.AccessDenied,
  EACCES: ErrorNames.AccessDenied,
  EINVAL: ErrorNames.InvalidArgs,
  ESRCH: ErrorNames.UnixProcessIdUnknown,
  ENOENT: ErrorNames.FileNotFound,
  EEXIST: ErrorNames.FileExists,
  ETIMEDOUT: ErrorNames.Timeout,
  EIO: ErrorNames.IOError,
  EOPNOTSUPP: ErrorNames.NotSupported,
  ENOBUFS: ErrorNames.LimitsExceeded,
};

/** The D-Bus error name sd-bus gives a negative errno (e.g. 'EEXIST' → FileExists, 'ENOTDIR' → System.Error.ENOTDIR). */
export function errnoBusErrorName(errnoName: string): string {
  return ERRNO_BUS_ERRORS[errnoName] ?? `System.Error.${errnoName}`;
}

export const Errors = {
  noSuchMachine: (name: string) => make(ErrorNames.NoSuchMachine, `No machine '${name}' known`),
  noSuchImage: (name: string) => make(ErrorNames.NoSuchImage, `No image '${name}' known`),
  noMachineForPid: (pid: number) => make(ErrorNames.NoMachineForPID, `PID ${pid} does not belong to any known machine`),
  machineExists: (name: string) => make(ErrorNames.MachineExists, `Machine '${name}' already exists`),
  /** Our choice where upstream 252 would silently move the process: a leader leads one machine. */
  leaderInMachine: (pid: number, name: string) =>
    make(ErrorNames.MachineExists, `Leader PID ${pid} already belongs to machine '${name}'`),
  invalidMachineName: () => make(ErrorNames.InvalidArgs, 'Invalid machine name'),
  invalidMachineId: () => make(ErrorNames.InvalidArgs, 'Invalid machine ID parameter'),
  invalidMachineClass: () => make(ErrorNames.InvalidArgs, 'Invalid machine class parameter'),
  invalidLeader: () => make(ErrorNames.InvalidArgs, 'Invalid leader PID'),
  leaderNotFound: (pid: number) => make(ErrorNames.UnixProcessIdUnknown, `Leader PID ${pid} does not exist`),
  invalidRootDirectory: () => make(ErrorNames.InvalidArgs, 'Root directory must be empty or an absolute path'),
  invalidNetworkInterface: (ifindex: number) => make(ErrorNames.InvalidArgs, `Invalid network interface index ${ifindex}`),
  invalidScopeProperty: (detail: string) => make(ErrorNames.InvalidArgs, detail),
  invalidKillWhom: (whom: string) => make(ErrorNames.InvalidArgs, `Invalid kill parameter '${whom}'`),
  invalidSignal: (signal: number) => make(ErrorNames.InvalidArgs, `Invalid signal ${signal}`),
  invalidArguments: (got: string, iface: string, member: string, expected: string) =>
    make(ErrorNames.InvalidArgs, `Invalid arguments '${got}' to call ${iface}.${member}(), expecting '${expected}'.`),
  accessDenied: (what = 'Access denied') => make(ErrorNames.AccessDenied, what),
  registerForOtherUser: () => make(ErrorNames.AccessDenied, 'Only root may register machines for other users'),
  interactiveAuthorizationRequired: () =>
    make(ErrorNames.InteractiveAuthorizationRequired, 'Interactive authentication required.'),
  notSupported: (what: string) => make(ErrorNames.NotSupported, what),
  notImplemented: (iface: string, member: string) =>
    make(ErrorNames.NotSupported, `${iface}.${member} is not implemented yet`),
  noOsRelease: () => make(ErrorNames.Failed, 'Machine does not contain OS release information.'),
  osReleaseOnlyContainers: () => make(ErrorNames.NotSupported, 'Requesting OS release data is only supported on container machines.'),
  addressesOnlyContainers: () => make(ErrorNames.NotSupported, 'Requesting IP address data is only supported on container machines.'),
  noPrivateNetworking: (name: string) => make(ErrorNames.NoPrivateNetworking, `Machine ${name} does not use private networking`),
  uidShiftOnlyContainers: () => make(ErrorNames.NotSupported, 'UID/GID shift may only be determined for container machines.'),
  complexUidMapping: (name: string) => make(ErrorNames.NotSupported, `Machine ${name} uses a complex UID/GID mapping, cannot determine shift`),
  rootDirectoryOnlyContainers: () => make(ErrorNames.NotSupported, 'Opening the root directory is only supported on container machines.'),
  mappingOnlyContainers: () => make(ErrorNames.InvalidArgs, 'Not supported for non-container machines.'),
  noUserMappingInMachine: (name: string) => make(ErrorNames.NoSuchUserMapping, `Machine '${name}' has no matching user mappings.`),
  noGroupMappingInMachine: (name: string) => make(ErrorNames.NoSuchGroupMapping, `Machine '${name}' has no matching group mappings.`),
  userInHostRange: (uid: number) => make(ErrorNames.NoSuchUserMapping, `User ${uid} belongs to host UID range`),
  groupInHostRange: (gid: number) => make(ErrorNames.NoSuchGroupMapping, `Group ${gid} belongs to host GID range`),
  noUserMapping: (uid: number) => make(ErrorNames.NoSuchUserMapping, `No matching user mapping for ${uid}.`),
  noGroupMapping: (gid: number) => make(ErrorNames.NoSuchGroupMapping, `No matching group mapping for ${gid}.`),
  // Upstream's method returns -EOPNOTSUPP: sd-bus names it NotSupported with strerror's text.
  hostMachineNotSupported: () => make(ErrorNames.NotSupported, 'Operation not supported'),
  unknownMethod: (member: string, iface: string) =>
    make(ErrorNames.UnknownMethod, `Unknown method ${member} or interface ${iface}.`),
  unknownObject: (path: string) => make(ErrorNames.UnknownObject, `Unknown object '${path}'.`),
  unknownInterface: (iface: string) => make(ErrorNames.UnknownInterface, `Unknown interface '${iface}'.`),
  unknownProperty: (prop: string) => make(ErrorNames.UnknownProperty, `Unknown property '${prop}'.`),
  propertyReadOnly: (prop: string) => make(ErrorNames.PropertyReadOnly, `Property '${prop}' is not writable.`),
  noSuchUnit: (unit: string) => make(ErrorNames.NoSuchUnit, `Unit ${unit} not loaded.`),
  noUnitForPid: (pid: number) => make(ErrorNames.NoUnitForPID, `PID ${pid} does not belong to any loaded unit.`),
  invalidJobMode: (mode: string) => make(ErrorNames.InvalidArgs, `Job mode ${mode} invalid.`),
  unitNotFound: (unit: string) => make(ErrorNames.NoSuchUnit, `Unit ${unit} not found.`),
  /** EnableUnitFiles / DisableUnitFiles of a unit file machined's systemd1 does not have (install_error). */
  noSuchUnitFile: (unit: string) => make(ErrorNames.NoSuchUnit, `Unit file ${unit} does not exist.`),
  unitPropertyNotSupported: (prop: string, unit: string) =>
    make(ErrorNames.NotSupported, `Property ${prop} cannot be set on ${unit} here: no such cgroup controller, or not a property machined's systemd1 manages`),
  jobFailed: (unit: string, result: string) => make(ErrorNames.JobFailed, `Start job for unit ${unit} failed with '${result}'`),
  failed: (message: string) => make(ErrorNames.Failed, message),
  limitsExceeded: (message: string) => make(ErrorNames.LimitsExceeded, message),
  // org.freedesktop.machine1 image pool (image-dbus.c, machined-dbus.c).
  tooManyOperations: () => make(ErrorNames.LimitsExceeded, 'Too many ongoing operations.'),
  invalidImageName: (name: string) => make(ErrorNames.InvalidArgs, `Image name '${name}' is invalid.`),
  imageExists: (name: string) => make(ErrorNames.FileExists, `Image '${name}' already exists.`),
  /** Upstream answers EROFS for vendor images and `.host`; we also refuse changes to images marked read-only. */
  imageReadOnly: (name: string) => make(ErrorNames.ReadOnlyFileSystem, `Image '${name}' is read-only.`),
  imageInUse: (name: string, machine: string) =>
    make(ErrorNames.Busy, `Image '${name}' is in use by running machine '${machine}'.`),
  limitOutOfRange: () => make(ErrorNames.InvalidArgs, 'New limit out of range'),
  quotaOnlyOnBtrfs: () => make(ErrorNames.NotSupported, 'Quota is only supported on btrfs.'),
  /** SetImageLimit with quota off: the ENOTCONN the kernel's qgroup ioctl gives upstream, said usefully. */
  quotaNotEnabled: (name: string) =>
    make(
      errnoBusErrorName('ENOTCONN'),
      `Quota is not enabled on the file system of image '${name}': set a pool limit first (machinectl set-limit SIZE) or run 'btrfs quota enable'.`,
    ),
  /** SetPoolLimit failing on btrfs (upstream: "Failed to adjust quota limit: %m"). */
  quotaLimitFailed: (errnoName: string, detail: string) => make(errnoBusErrorName(errnoName), `Failed to adjust quota limit: ${detail}`),
  unknownCleanMode: (mode: string) => make(ErrorNames.InvalidArgs, `Unknown mode '${mode}'.`),
  imageMetadata: (detail: string) => make(ErrorNames.Failed, `Failed to read image metadata: ${detail}`),
  imageOperationFailed: (verb: string, name: string, detail: string) =>
    make(ErrorNames.Failed, `Failed to ${verb} image '${name}': ${detail}`),
  // Copy and bind mount on running machines (machine-dbus.c).
  tooManyCopies: () => make(ErrorNames.LimitsExceeded, 'Too many ongoing copies.'),
  copyOnlyContainers: () => make(ErrorNames.NotSupported, 'Copying files is only supported on container machines.'),
  bindOnlyContainers: () => make(ErrorNames.NotSupported, 'Bind mounting is only supported on container machines.'),
  bindWithUserNamespace: () => make(ErrorNames.NotSupported, "Can't bind mount on container with user namespacing applied."),
  /** Ours: the copy would write the host's own files (a machine's owner must not gain that). */
  copyWithHostRoot: (name: string) =>
    make(ErrorNames.NotSupported, `Machine ${name} shares the host's root directory and mounts; refusing to copy files into or out of it.`),
  /** Ours: a mount there would land on the host itself (upstream fails for want of nspawn's propagation directory). */
  bindIntoHostNamespace: (name: string) =>
    make(ErrorNames.NotSupported, `Machine ${name} shares the host's mount namespace; refusing to bind mount into it.`),
  invalidCopyFlags: (flags: bigint) => make(ErrorNames.InvalidArgs, `Invalid copy flags 0x${flags.toString(16)}: only 0x1 (replace) is defined`),
  sourceNotAbsolute: () => make(ErrorNames.InvalidArgs, 'Source path must be absolute.'),
  destinationNotAbsolute: () => make(ErrorNames.InvalidArgs, 'Destination path must be absolute.'),
  sourceNotNormalized: () => make(ErrorNames.InvalidArgs, 'Source path must be absolute and normalized.'),
  destinationNotNormalized: () => make(ErrorNames.InvalidArgs, 'Destination path must be absolute and normalized.'),
  noFileName: (path: string) => make(ErrorNames.InvalidArgs, `Failed to extract file name of '${path}' path: it names no file`),
  // PTY, login and shell on running machines (machine-dbus.c).
  ptyOnlyContainers: (verb: 'pty' | 'login' | 'shell') =>
    make(ErrorNames.NotSupported, `Opening a ${verb === 'pty' ? 'PTY' : verb} is only supported on container machines.`),
  shellPathNotAbsolute: (path: string) => make(ErrorNames.InvalidArgs, `Specified path '${path}' is not absolute`),
  invalidEnvironment: () => make(ErrorNames.InvalidArgs, 'Invalid environment assignments'),
  invalidUserName: (user: string) => make(ErrorNames.InvalidArgs, `Invalid user name '${user}'`),
  shellIntoRootUserNamespace: () => make(ErrorNames.AccessDenied, 'Only root may shell into the root user namespace'),
  /** A failed system call, named as sd-bus names a plain errno (errno_to_bus_error_const). */
  fromErrno: (errnoName: string, message: string) => make(errnoBusErrorName(errnoName), message),
  // org.freedesktop.import1 (importd.c).
  noSuchTransfer: (id: number) => make(ErrorNames.NoSuchTransfer, `No transfer by id ${id}`),
  transferInProgress: (what: string) => make(ErrorNames.TransferInProgress, `Transfer for ${what} already in progress.`),
  invalidTransferId: () => make(ErrorNames.InvalidArgs, 'Invalid transfer id'),
  invalidLocalImageName: (name: string) => make(ErrorNames.InvalidArgs, `Local image name ${name} is invalid`),
  invalidUrl: (url: string) => make(ErrorNames.InvalidArgs, `URL ${url} is invalid`),
  unknownVerifyMode: (mode: string) => make(ErrorNames.InvalidArgs, `Unknown verification mode ${mode}`),
  unknownExportFormat: (format: string) => make(ErrorNames.InvalidArgs, `Unknown format specified: ${format}`),
  unknownImageClass: (cls: string) => make(ErrorNames.InvalidArgs, `Image class '${cls}' not known`),
  invalidImportFlags: (flags: bigint) => make(ErrorNames.InvalidArgs, `Flags 0x${flags.toString(16)} invalid`),
  badImportFd: (what: string) => make(ErrorNames.InvalidArgs, what),
  tooManyTransfers: (max: number) => make(ErrorNames.LimitsExceeded, `Too many transfers (at most ${max} at a time)`),
};
