/** Well-known names, object paths and interface names on the system bus. */

export const MACHINE1_BUS_NAME = 'org.freedesktop.machine1';
export const MACHINE1_PATH = '/org/freedesktop/machine1';
export const MACHINE1_MANAGER_INTERFACE = 'org.freedesktop.machine1.Manager';
export const MACHINE1_MACHINE_INTERFACE = 'org.freedesktop.machine1.Machine';
export const MACHINE1_IMAGE_INTERFACE = 'org.freedesktop.machine1.Image';
export const MACHINE1_MACHINE_PATH_PREFIX = '/org/freedesktop/machine1/machine';
export const MACHINE1_IMAGE_PATH_PREFIX = '/org/freedesktop/machine1/image';

export const IMPORT1_BUS_NAME = 'org.freedesktop.import1';
export const IMPORT1_PATH = '/org/freedesktop/import1';

export const SYSTEMD1_BUS_NAME = 'org.freedesktop.systemd1';
export const SYSTEMD1_PATH = '/org/freedesktop/systemd1';
export const SYSTEMD1_MANAGER_INTERFACE = 'org.freedesktop.systemd1.Manager';
export const SYSTEMD1_UNIT_INTERFACE = 'org.freedesktop.systemd1.Unit';
export const SYSTEMD1_SCOPE_INTERFACE = 'org.freedesktop.systemd1.Scope';
export const SYSTEMD1_UNIT_PATH_PREFIX = '/org/freedesktop/systemd1/unit';

export const POLKIT_BUS_NAME = 'org.freedesktop.PolicyKit1';
export const POLKIT_AUTHORITY_PATH = '/org/freedesktop/PolicyKit1/Authority';
export const POLKIT_AUTHORITY_INTERFACE = 'org.freedesktop.PolicyKit1.Authority';

export const DBUS_BUS_NAME = 'org.freedesktop.DBus';
export const DBUS_PATH = '/org/freedesktop/DBus';
export const DBUS_INTERFACE = 'org.freedesktop.DBus';
export const PROPERTIES_INTERFACE = 'org.freedesktop.DBus.Properties';
export const INTROSPECTABLE_INTERFACE = 'org.freedesktop.DBus.Introspectable';
export const PEER_INTERFACE = 'org.freedesktop.DBus.Peer';

/** Where sd-login, libnss_mymachines and `ps -o machine` look for machines. */
export const DEFAULT_STATE_DIR = '/run/systemd/machines';
/** Root-only directory for the internal channel's ipc sockets. */
export const DEFAULT_RUNTIME_DIR = '/run/machined';
export const DEFAULT_POOL_PATH = '/var/lib/machines';
export const DEFAULT_SYSTEM_BUS_ADDRESS = 'unix:path=/run/dbus/system_bus_socket';

/** The slice machine scopes go into unless the caller names another (SPECIAL_MACHINE_SLICE). */
export const MACHINE_SLICE = 'machine.slice';
/** The synthetic machine standing for the host itself. */
export const HOST_MACHINE_NAME = '.host';

export const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
