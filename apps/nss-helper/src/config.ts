/** Command-line flags and environment of nss-helper; every path has the real default. */
import { DEFAULT_RUNTIME_DIR, type LogLevel, ConfigError, parseLogLevel, parseDaemonArgs } from '@machined/protocol';

export interface Config {
  runtimeDir: string;
  hostsSocket: string;
  logLevel: LogLevel;
}

/** Where libnss_machines.so.2 looks (native/libnss_machines.c, DEFAULT_SOCKET): keep in step. */
export const DEFAULT_HOSTS_SOCKET = '/run/machined-nss/hosts.sock';

export const USAGE = `nss-helper [OPTIONS]

Keeps a live table of machined's containers and their addresses, and answers host name look-ups
for the glibc NSS module libnss_machines.so.2 ("hosts: … machines …" in /etc/nsswitch.conf): on
a unix socket, and as a table published beside it (hosts.sock → hosts.table) that the module
reads without a round trip.

Options:
  --runtime-dir DIR      machined's internal channel sockets ($MACHINED_RUNTIME_DIR, default
                         ${DEFAULT_RUNTIME_DIR})
  --socket PATH          the host look-up socket, mode 0666 ($MACHINED_NSS_SOCKET, default
                         ${DEFAULT_HOSTS_SOCKET}; the NSS module reads the same variable)
  --log-level LEVEL      debug, info, warning or error (default info)
  -h, --help             show this help
  --version              show the version`;

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Config | 'help' | 'version' {
  const v = parseDaemonArgs(argv, {
    'runtime-dir': { type: 'string' },
    socket: { type: 'string' },
    'log-level': { type: 'string' },
  });
  if (v === 'help' || v === 'version') return v;
  const hostsSocket = v.socket ?? env.MACHINED_NSS_SOCKET ?? DEFAULT_HOSTS_SOCKET;
  if (!hostsSocket.startsWith('/')) throw new ConfigError(`--socket: '${hostsSocket}' is not an absolute path`);
  if (Buffer.byteLength(hostsSocket) >= 108) throw new ConfigError(`--socket: '${hostsSocket}' is longer than a unix socket path may be (107 bytes)`);
  return {
    runtimeDir: v['runtime-dir'] ?? env.MACHINED_RUNTIME_DIR ?? DEFAULT_RUNTIME_DIR,
    hostsSocket,
    logLevel: parseLogLevel(v['log-level'] ?? env.MACHINED_LOG_LEVEL),
  };
}

export { ConfigError };
