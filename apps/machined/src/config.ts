/** Command-line flags and environment of machined; every path has the real default. */
import { parseArgs } from 'node:util';
import {
  DEFAULT_POOL_PATH,
  DEFAULT_RUNTIME_DIR,
  DEFAULT_STATE_DIR,
  systemBusAddress,
  type LogLevel,
  ConfigError,
  parseLogLevel,
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
  logLevel: LogLevel;
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
  --log-level LEVEL          debug, info, warning or error (default info)
  -h, --help                 show this help
  --version                  show the version`;

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Config | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        'bus-address': { type: 'string' },
        'state-dir': { type: 'string' },
        'runtime-dir': { type: 'string' },
        'pool-path': { type: 'string' },
        'image-search-path': { type: 'string' },
        'terminate-timeout': { type: 'string' },
        'cgroup-backend': { type: 'string' },
        'log-level': { type: 'string' },
        systemd1: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.version) return 'version';

  const timeout = Number(v['terminate-timeout'] ?? env.MACHINED_TERMINATE_TIMEOUT ?? '90');
  if (!Number.isFinite(timeout) || timeout < 0) throw new ConfigError(`--terminate-timeout: '${v['terminate-timeout']}' is not a number of seconds`);
  const backend = v['cgroup-backend'] ?? env.MACHINED_CGROUP_BACKEND ?? 'auto';
  if (!['auto', 'cgroupfs', 'systemd'].includes(backend)) throw new ConfigError(`--cgroup-backend: '${backend}' is not one of auto, cgroupfs, systemd`);
  const systemd1 = v.systemd1 ?? env.MACHINED_SYSTEMD1 ?? 'auto';
  if (!['auto', 'off'].includes(systemd1)) throw new ConfigError(`--systemd1: '${systemd1}' is not one of auto, off`);
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
    logLevel: level,
  };
}

export { ConfigError };
