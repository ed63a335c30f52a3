/**
 * systemd-nspawn with the arguments of upstream's systemd-nspawn@.service:
 *   --quiet --keep-unit --boot --link-journal=try-guest --network-veth -U --settings=override --machine=%i
 * plus where the image is (`--directory=`/`--image=`): upstream nspawn finds `--machine=NAME` in
 * /var/lib/machines itself, ours may have a pool elsewhere. `--network-veth` becomes
 * `--private-network` or nothing when configured so. --keep-unit makes nspawn register the unit it
 * runs in (RegisterMachineWithNetwork), which is why it is started inside the cgroup of
 * `systemd-nspawn@NAME.service`. stdin and the console are /dev/null, as under systemd (the
 * console is then read-only and the container's output is dropped, where systemd sends it to the
 * journal); nspawn's own messages go to machined's log.
 */
import type { LaunchCommand, LaunchRequest, Launcher } from './launcher.js';

const NETWORK_ARGS: Record<LaunchRequest['network'], string[]> = {
  veth: ['--network-veth'],
  private: ['--private-network'],
  host: [],
};

export function nspawnArguments(req: LaunchRequest): string[] {
  const where = req.image.type === 'raw' || req.image.type === 'block' ? `--image=${req.image.path}` : `--directory=${req.image.path}`;
  return [
    '--quiet',
    '--keep-unit',
    '--boot',
    '--link-journal=try-guest',
    ...NETWORK_ARGS[req.network],
    '-U',
    '--settings=override',
    `--machine=${req.name}`,
    where,
  ];
}

export class NspawnLauncher implements Launcher {
  readonly kind = 'systemd-nspawn' as const;

  constructor(private readonly program: string) {}

  command(req: LaunchRequest): LaunchCommand {
    const env: NodeJS.ProcessEnv = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: req.busAddress };
    // Not ours to pass on: nspawn would report readiness to whoever supervises machined.
    delete env.NOTIFY_SOCKET;
    delete env.WATCHDOG_USEC;
    delete env.WATCHDOG_PID;
    return { argv: [this.program, ...nspawnArguments(req)], env, handshake: false };
  }
}
