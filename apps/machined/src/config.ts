/** Command-line flags and environment of machined; every path has the real default. */
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_POOL_PATH,
  DEFAULT_RUNTIME_DIR,
  DEFAULT_STATE_DIR,
  systemBusAddress,
  type LogLevel,
  ConfigError,
  parseLogLevel,
  parseDaemonArgs,
} from '@machined/protocol';
import { defaultSearchPath } from './images/discovery.js';

export interface Config {
  busAddress: string;
  stateDir: string;
  runtimeDir: string;
  poolPath: string;
  /** Directories searched for images, first wins on a name clash; always includes poolPath. */
  imageSearchPath: string[];
  terminateTimeoutMs: number;
  cgroupBackend: 'auto' | 'cgroupfs' | 'systemd';
  /** Serve the slice of org.freedesktop.systemd1 machine clients need where PID 1 is not systemd. */
  systemd1: 'auto' | 'off';
  /** How StartUnit(systemd-nspawn@NAME.service) runs images: nspawn when on PATH, else the built-in launcher. */
  launcher: 'auto' | 'systemd-nspawn' | 'builtin';
  /** Network of started machines: nspawn's --network-veth (upstream's unit), --private-network, or the host's. */
  machineNetwork: 'veth' | 'private' | 'host';
  /** Where machinectl enable records the machines started at boot. */
  enabledUnitsFile: string;
  logLevel: LogLevel;
  /** Directory of machined's C helpers (machined-copy, machined-mount, ...). */
  libexecDir: string;
}

/** dist/libexec beside the bundle dist/bin/machined.mjs, where the build puts the C helpers. */
export function defaultLibexecDir(): string {
  return fileURLToPath(new URL('../libexec/', import.meta.url));
}

export const USAGE = `machined [OPTIONS]

The org.freedesktop.machine1 service: registers and tracks the containers and virtual
machines of this host on the system bus, as systemd-machined does.

Options:
  --bus-address ADDR         system bus to serve on ($DBUS_SYSTEM_BUS_ADDRESS, else
                             unix:path=/run/dbus/system_bus_socket)
  --state-dir DIR            machine state files ($MACHINED_STATE_DIR, default ${DEFAULT_STATE_DIR})
  --runtime-dir DIR          internal channel sockets ($MACHINED_RUNTIME_DIR, default ${DEFAULT_RUNTIME_DIR})
  --pool-path DIR            image pool ($MACHINED_POOL_PATH, default ${DEFAULT_POOL_PATH})
  --image-search-path DIRS   colon-separated directories searched for images, first wins
                             ($MACHINED_IMAGE_SEARCH_PATH, default /etc/machines:/run/machines:
                             POOL:/usr/local/lib/machines:/usr/lib/machines; the pool is
                             always searched, first when not listed)
  --terminate-timeout SEC    SIGKILL what is left SEC seconds after a stop (default 90, as systemd)
  --cgroup-backend MODE      auto, cgroupfs or systemd (default auto)
  --systemd1 MODE            auto: where PID 1 is not systemd and nobody owns
                             org.freedesktop.systemd1, answer the part of it that machine
                             clients use; off: never (default auto)
  --launcher MODE            how machinectl start runs images: systemd-nspawn, builtin
                             (unshare), or auto: systemd-nspawn when on PATH (default auto)
  --machine-network MODE     network of started machines: veth (as systemd-nspawn@.service),
                             private (loopback only) or host (default veth)
  --enabled-units-file FILE  machines enabled for boot ($MACHINED_ENABLED_UNITS_FILE,
                             default /var/lib/machined/enabled-units)
  --log-level LEVEL          debug, info, warning or error (default info)
  --libexec-dir DIR          machined's helper programs ($MACHINED_LIBEXEC_DIR, default
                             ../libexec beside the machined bundle)
  -h, --help                 show this help
  --version                  show the version`;

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Config | 'help' | 'version' {
  const v = parseDaemonArgs(argv, {
    'bus-address': { type: 'string' },
    'state-dir': { type: 'string' },
    'runtime-dir': { type: 'string' },
    'pool-path': { type: 'string' },
    'image-search-path': { type: 'string' },
    'terminate-timeout': { type: 'string' },
    'cgroup-backend': { type: 'string' },
    'log-level': { type: 'string' },
    'libexec-dir': { type: 'string' },
    systemd1: { type: 'string' },
    launcher: { type: 'string' },
    'machine-network': { type: 'string' },
    'enabled-units-file': { type: 'string' },
  });
  if (v === 'help' || v === 'version') return v;

  const timeout = Number(v['terminate-timeout'] ?? env.MACHINED_TERMINATE_TIMEOUT ?? '90');
  if (!Number.isFinite(timeout) || timeout < 0) throw new ConfigError(`--terminate-timeout: '${v['terminate-timeout']}' is not a number of seconds`);
  const backend = v['cgroup-backend'] ?? env.MACHINED_CGROUP_BACKEND ?? 'auto';
  if (!['auto', 'cgroupfs', 'systemd'].includes(backend)) throw new ConfigError(`--cgroup-backend: '${backend}' is not one of auto, cgroupfs, systemd`);
  const systemd1 = v.systemd1 ?? env.MACHINED_SYSTEMD1 ?? 'auto';
  if (!['auto', 'off'].includes(systemd1)) throw new ConfigError(`--systemd1: '${systemd1}' is not one of auto, off`);
  const launcher = v.launcher ?? env.MACHINED_LAUNCHER ?? 'auto';
  if (!['auto', 'systemd-nspawn', 'builtin'].includes(launcher)) throw new ConfigError(`--launcher: '${launcher}' is not one of auto, systemd-nspawn, builtin`);
  const machineNetwork = v['machine-network'] ?? env.MACHINED_MACHINE_NETWORK ?? 'veth';
  if (!['veth', 'private', 'host'].includes(machineNetwork)) throw new ConfigError(`--machine-network: '${machineNetwork}' is not one of veth, private, host`);
  const enabledUnitsFile = v['enabled-units-file'] ?? env.MACHINED_ENABLED_UNITS_FILE ?? '/var/lib/machined/enabled-units';
  if (!enabledUnitsFile.startsWith('/')) throw new ConfigError(`--enabled-units-file: '${enabledUnitsFile}' is not an absolute path`);
  const level = parseLogLevel(v['log-level'] ?? env.MACHINED_LOG_LEVEL);

  const poolPath = v['pool-path'] ?? env.MACHINED_POOL_PATH ?? DEFAULT_POOL_PATH;
  const searchSpec = v['image-search-path'] ?? env.MACHINED_IMAGE_SEARCH_PATH;
  let imageSearchPath = searchSpec === undefined ? defaultSearchPath(poolPath) : searchSpec.split(':').filter((d) => d !== '');
  const relative = imageSearchPath.find((d) => !d.startsWith('/'));
  if (relative !== undefined) throw new ConfigError(`--image-search-path: '${relative}' is not an absolute path`);
  if (!imageSearchPath.includes(poolPath)) imageSearchPath = [poolPath, ...imageSearchPath];

  return {
    busAddress: v['bus-address'] ?? systemBusAddress(env),
    stateDir: v['state-dir'] ?? env.MACHINED_STATE_DIR ?? DEFAULT_STATE_DIR,
    runtimeDir: v['runtime-dir'] ?? env.MACHINED_RUNTIME_DIR ?? DEFAULT_RUNTIME_DIR,
    poolPath,
    imageSearchPath,
    terminateTimeoutMs: Math.round(timeout * 1000),
    cgroupBackend: backend as Config['cgroupBackend'],
    systemd1: systemd1 as Config['systemd1'],
    launcher: launcher as Config['launcher'],
    machineNetwork: machineNetwork as Config['machineNetwork'],
    enabledUnitsFile,
    logLevel: level,
    libexecDir: v['libexec-dir'] ?? env.MACHINED_LIBEXEC_DIR ?? defaultLibexecDir(),
  };
}

export { ConfigError };
