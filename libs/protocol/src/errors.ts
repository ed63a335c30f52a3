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
  hostMachineNotSupported: () => make(ErrorNames.NotSupported, 'Operation not supported for the host machine'),
  unknownMethod: (member: string, iface: string) =>
    make(ErrorNames.UnknownMethod, `Unknown method ${member} or interface ${iface}.`),
  unknownObject: (path: string) => make(ErrorNames.UnknownObject, `Unknown object '${path}'.`),
  unknownInterface: (iface: string) => make(ErrorNames.UnknownInterface, `Unknown interface '${iface}'.`),
  unknownProperty: (prop: string) => make(ErrorNames.UnknownProperty, `Unknown property '${prop}'.`),
  propertyReadOnly: (prop: string) => make(ErrorNames.PropertyReadOnly, `Property '${prop}' is not writable.`),
  jobFailed: (unit: string, result: string) => make(ErrorNames.JobFailed, `Start job for unit ${unit} failed with '${result}'`),
  failed: (message: string) => make(ErrorNames.Failed, message),
  limitsExceeded: (message: string) => make(ErrorNames.LimitsExceeded, message),
};
