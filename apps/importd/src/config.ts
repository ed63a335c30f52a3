/** Command-line flags and environment of importd; every path has the real default. */
import {
  DEFAULT_POOL_PATH,
  DEFAULT_RUNTIME_DIR,
  systemBusAddress,
  type LogLevel,
  ConfigError,
  parseLogLevel,
  parseDaemonArgs,
} from '@machined/protocol';

export interface Config {
  busAddress: string;
  poolPath: string;
  runtimeDir: string;
  /** Keyrings tried in order for `signature` verification; the first that exists is used. */
  keyrings: string[];
  logLevel: LogLevel;
}

/** Where upstream's systemd-pull looks for the keys that sign SHA256SUMS, in this order. */
export const DEFAULT_KEYRINGS = ['/etc/systemd/import-pubring.gpg', '/usr/lib/systemd/import-pubring.gpg'];

export const USAGE = `importd [OPTIONS]

The org.freedesktop.import1 service: pulls container images from URLs with verification,
imports and exports tar and raw images into and out of the image pool, as systemd-importd does.

Options:
  --bus-address ADDR     system bus to serve on ($DBUS_SYSTEM_BUS_ADDRESS, else
                         unix:path=/run/dbus/system_bus_socket)
  --pool-path DIR        image pool ($MACHINED_POOL_PATH, default ${DEFAULT_POOL_PATH})
  --runtime-dir DIR      machined's internal channel sockets, where pool changes are announced
                         ($MACHINED_RUNTIME_DIR, default ${DEFAULT_RUNTIME_DIR})
  --keyring FILE         gpg keyring for --verify=signature; may be repeated ($IMPORTD_KEYRING,
                         default ${DEFAULT_KEYRINGS.join(' then ')})
  --log-level LEVEL      debug, info, warning or error (default info)
  -h, --help             show this help
  --version              show the version`;

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Config | 'help' | 'version' {
  const v = parseDaemonArgs(argv, {
    'bus-address': { type: 'string' },
    'pool-path': { type: 'string' },
    'runtime-dir': { type: 'string' },
    keyring: { type: 'string', multiple: true },
    'log-level': { type: 'string' },
  });
  if (v === 'help' || v === 'version') return v;
  const level = parseLogLevel(v['log-level'] ?? env.MACHINED_LOG_LEVEL);
  const keyrings = v.keyring?.length ? v.keyring : env.IMPORTD_KEYRING ? [env.IMPORTD_KEYRING] : DEFAULT_KEYRINGS;
  return {
    busAddress: v['bus-address'] ?? systemBusAddress(env),
    poolPath: v['pool-path'] ?? env.MACHINED_POOL_PATH ?? DEFAULT_POOL_PATH,
    runtimeDir: v['runtime-dir'] ?? env.MACHINED_RUNTIME_DIR ?? DEFAULT_RUNTIME_DIR,
    keyrings,
    logLevel: level,
  };
}

export { ConfigError };
