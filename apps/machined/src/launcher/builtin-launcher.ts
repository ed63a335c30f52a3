/**
 * The launcher used where systemd-nspawn is not installed: util-linux `unshare` makes PID, mount,
 * UTS and IPC namespaces (and a network namespace unless the machine uses the host's network),
 * and container-setup.ts turns the image directory into the root of that world with its init as
 * PID 1. Directory images only (raw images need nspawn's dissection).
 *
 * All of them belong to a user namespace that maps UIDs/GIDs 0–65535 to themselves (file
 * ownership in the image stays as it is, unlike nspawn -U's shift): without it the container's
 * root could remount the file system under the image, which its image directory shares with the
 * whole pool; busybox's init does exactly that at shutdown (`umount -a -r` remounts read-only).
 * In its own user namespace the container's root has no power over mounts it did not make.
 */
import { Errors } from '@machined/protocol';
import { CONTAINER_SETUP_SCRIPT, SETUP_VARIABLE } from './container-setup.js';
import type { LaunchCommand, LaunchRequest, Launcher } from './launcher.js';

/** UIDs and GIDs mapped to themselves, as many as nspawn -U gives a container. */
const ID_RANGE = 65536;

/** In the new user namespace, unmapped yet: tell machined, wait for the maps, go on. */
const USERNS_STAGE = 'echo userns >&4; read -r _ <&3 || exit 1; exec "$@"';

/** What a container finds in its environment, as nspawn sets `container=systemd-nspawn`. */
const CONTAINER_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  container: 'machined',
  TERM: 'vt102',
};

export class BuiltinLauncher implements Launcher {
  readonly kind = 'builtin' as const;

  constructor(private readonly unshare: string, private readonly shell = '/bin/sh') {}

  command(req: LaunchRequest): LaunchCommand {
    if (req.image.type !== 'directory' && req.image.type !== 'subvolume') {
      throw Errors.notSupported(`Image ${req.image.name} is a ${req.image.type} image; without systemd-nspawn only directory images can be started.`);
    }
    const argv = [
      this.unshare,
      // util-linux 2.38 maps a range only through newuidmap (package uidmap): machined writes the
      // maps itself while the first stage waits, then the namespaces are made by a mapped root.
      '--user', '--', this.shell, '-c', USERNS_STAGE, 'machined-userns',
      this.unshare,
      '--pid', '--fork', '--kill-child',
      '--mount', '--propagation', 'private',
      '--uts', '--ipc',
      ...(req.network === 'host' ? [] : ['--net']),
      '--',
      // Through the environment, so that process listings show a short command line.
      this.shell, '-c', `eval "$${SETUP_VARIABLE}"`, 'machined-container-setup', req.image.path, req.name,
    ];
    return { argv, env: { ...CONTAINER_ENV, [SETUP_VARIABLE]: CONTAINER_SETUP_SCRIPT }, handshake: true, idMap: `0 0 ${ID_RANGE}\n` };
  }
}
