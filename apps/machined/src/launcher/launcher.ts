/**
 * What starting a pool image as `systemd-nspawn@NAME.service` needs from a launcher: a command
 * that runs the container, started only once it sits in the unit's cgroup (so everything it forks
 * is in there), and a way to tell when the machine has registered with machined.
 */
import type { Image } from '../images/image.js';

/** How the container is networked: nspawn's --network-veth (upstream's unit), --private-network, or the host's. */
export type MachineNetwork = 'veth' | 'private' | 'host';

export const MACHINE_NETWORKS: readonly MachineNetwork[] = ['veth', 'private', 'host'];

export interface LaunchRequest {
  /** Machine name, also the unit's instance (`systemd-nspawn@NAME.service`). */
  name: string;
  image: Image;
  network: MachineNetwork;
  /** System bus address the container registers on (nspawn's RegisterMachineWithNetwork). */
  busAddress: string;
}

/** The program a launcher runs, given to the gated spawner. */
export interface LaunchCommand {
  argv: string[];
  env: NodeJS.ProcessEnv;
  /**
   * True when the program reports, on fd 4, the line `ready` once the container's PID 1 is set
   * up, and then waits for a line on fd 3 before running the image's init.
   */
  handshake: boolean;
  /**
   * With handshake: the program first reports `userns` on fd 4 from a new user namespace and
   * waits on fd 3 until machined has written this as its uid_map and gid_map.
   */
  idMap?: string;
}

export interface Launcher {
  readonly kind: 'systemd-nspawn' | 'builtin';
  command(req: LaunchRequest): LaunchCommand;
}
