/** Command-line flags and environment of machined; every path has the real default. */
import { parseArgs } from 'node:util';
import {
  DEFAULT_POOL_PATH,
  DEFAULT_RUNTIME_DIR,
  DEFAULT_STATE_DIR,
  systemBusAddress,
  type LogLevel,
} from '@machined/protocol';

export interface Config {
  busAddress: string;
  stateDir: string;
  runtimeDir: string;
  poolPath: string;
  terminateTimeoutMs: number;
  cgroupBackend: 'auto' | 'cgroupfs' | 'systemd';
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
  --terminate-timeout SEC    SIGKILL what SIGTERM left after SEC seconds (default 10)
  --cgroup-backend MODE      auto, cgroupfs or systemd (default auto)
  --log-level LEVEL          debug, info, warning or error (default info)
  -h, --help                 show this help
  --version                  show the version`;

export class ConfigError extends Error {}

const LEVELS: LogLevel[] = ['debug', 'info', 'warning', 'error'];

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
        'terminate-timeout': { type: 'string' },
        'cgroup-backend': { type: 'string' },
        'log-level': { type: 'string' },
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

  const timeout = Number(v['terminate-timeout'] ?? env.MACHINED_TERMINATE_TIMEOUT ?? '10');
  if (!Number.isFinite(timeout) || timeout < 0) throw new ConfigError(`--terminate-timeout: '${v['terminate-timeout']}' is not a number of seconds`);
  const backend = v['cgroup-backend'] ?? env.MACHINED_CGROUP_BACKEND ?? 'auto';
  if (!['auto', 'cgroupfs', 'systemd'].includes(backend)) throw new ConfigError(`--cgroup-backend: '${backend}' is not one of auto, cgroupfs, systemd`);
  const level = (v['log-level'] ?? env.MACHINED_LOG_LEVEL ?? 'info') as LogLevel;
  if (!LEVELS.includes(level)) throw new ConfigError(`--log-level: '${level}' is not one of ${LEVELS.join(', ')}`);

  return {
    busAddress: v['bus-address'] ?? systemBusAddress(env),
    stateDir: v['state-dir'] ?? env.MACHINED_STATE_DIR ?? DEFAULT_STATE_DIR,
    runtimeDir: v['runtime-dir'] ?? env.MACHINED_RUNTIME_DIR ?? DEFAULT_RUNTIME_DIR,
    poolPath: v['pool-path'] ?? env.MACHINED_POOL_PATH ?? DEFAULT_POOL_PATH,
    terminateTimeoutMs: Math.round(timeout * 1000),
    cgroupBackend: backend as Config['cgroupBackend'],
    logLevel: level,
  };
}
