/**
 * Where the bus is: the address a transport means (DBUS_SYSTEM_BUS_ADDRESS or the standard
 * socket, ssh to -H as sd-bus does it, a container's bus for -M), and the one line that says so
 * when it cannot be reached.
 */
import { readFileSync } from 'node:fs';
import { CliError } from '../cli/cli-error.js';
import type { Transport } from '../cli/options.js';

const DEFAULT_SYSTEM_BUS_ADDRESS = 'unix:path=/run/dbus/system_bus_socket';

/** The bus address a transport means: DBUS_SYSTEM_BUS_ADDRESS, ssh to -H, or a container's bus. */
export function busAddressFor(transport: Transport, env: NodeJS.ProcessEnv = process.env): string {
  switch (transport.kind) {
    case 'local':
      return env.DBUS_SYSTEM_BUS_ADDRESS || DEFAULT_SYSTEM_BUS_ADDRESS;
    case 'remote': {
      // sd-bus: ssh -xT [-p PORT] -- [USER@]HOST systemd-stdio-bridge [--machine=CONTAINER]
      const m = /^(?:([^@]+)@)?([^:/]+)(?::(\d+))?(?:\/(.+))?$/.exec(transport.host);
      if (!m) throw new CliError(`Failed to connect to bus: Invalid argument`);
      const args = ['-xT'];
      if (m[3]) args.push('-p', m[3]);
      args.push('--', m[1] ? `${m[1]}@${m[2]}` : m[2]!, 'systemd-stdio-bridge');
      // Separate words: dbus-next's address parser cuts a value at its first '='.
      if (m[4]) args.push('--machine', m[4]);
      return `unixexec:path=ssh,${args.map((a, i) => `arg${i + 1}=${a}`).join(',')}`;
    }
    case 'machine': {
      // sd-bus finds the container's leader in machined's state file and uses the bus socket in
      // its root; a missing file means the machine is not known here (EHOSTDOWN).
      const name = transport.machine.includes('@') ? transport.machine.slice(transport.machine.indexOf('@') + 1) : transport.machine;
      let leader: string | undefined;
      try {
        const state = readFileSync(`/run/systemd/machines/${name}`, 'utf8');
        leader = /^LEADER=(\d+)$/m.exec(state)?.[1];
      } catch {
        leader = undefined;
      }
      if (!leader) throw new CliError('Failed to connect to bus: Host is down');
      return `unix:path=/proc/${leader}/root/run/dbus/system_bus_socket`;
    }
  }
}

export function describeAddress(transport: Transport, address: string, env: NodeJS.ProcessEnv): string {
  if (transport.kind !== 'local') return `bus ${address}`;
  return env.DBUS_SYSTEM_BUS_ADDRESS ? `DBUS_SYSTEM_BUS_ADDRESS=${address}` : `DBUS_SYSTEM_BUS_ADDRESS is unset, tried ${address}`;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ECONNREFUSED: 'Connection refused',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTDIR: 'Not a directory',
  ETIMEDOUT: 'Connection timed out',
  ECONNRESET: 'Connection reset by peer',
};

export function connectFailure(err: NodeJS.ErrnoException, describe: string): CliError {
  const text = (err.code && ERRNO_TEXT[err.code]) || err.message;
  return new CliError(`Failed to connect to bus: ${text} (${describe})`);
}

