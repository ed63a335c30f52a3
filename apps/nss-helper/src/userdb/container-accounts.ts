/**
 * The users and groups of user-namespaced containers, as machined synthesizes them
 * (src/machine/machined-varlink.c: user_lookup_uid / user_lookup_name and the group twins):
 * `vu-MACHINE-UID` is UID `UID` inside container MACHINE, i.e. host UID shift + UID.
 *
 * One deliberate difference: upstream's by-name path translates through the whole uid_map, so for
 * a container without its own user namespace `vu-foo-0` would name host UID 0. Here a name only
 * resolves to an ID that the by-number path would give back under the same name (outside the host
 * range, from a line that is not the host's own namespace), so no alias of a host account appears.
 */
import { HOST_ID_RANGE, type IdRange, type MapKind, idFromHost, idToHost } from './id-map.js';
import type { MachineSource, SourceMachine } from './machine-source.js';
import { type IdKind, parseSynthesizedName, synthesizedName, validGecos, validUserGroupName } from './user-names.js';

export interface Account {
  kind: IdKind;
  /** `vu-…` / `vg-…` */
  name: string;
  /** The host UID / GID. */
  id: number;
  /** realName (users) or description (groups), left out when it would not be valid GECOS. */
  comment: string | null;
}

export type ReadIdMap = (pid: number, kind: MapKind) => IdRange[] | null;

const MAP_OF: Record<IdKind, MapKind> = { user: 'uid', group: 'gid' };

export class ContainerAccounts {
  /**
   * Parsed maps by leader PID. A written map never changes (the kernel allows one write), so it
   * stays valid until the machine table changes; an empty map (not written yet) is not kept.
   */
  private readonly maps = new Map<string, IdRange[]>();

  constructor(
    private readonly source: MachineSource,
    private readonly readMap: ReadIdMap,
  ) {
    source.on('changed', () => this.maps.clear());
  }

  /** GetUserRecord / GetGroupRecord by number. */
  byId(kind: IdKind, hostId: number): Account | null {
    if (hostId < HOST_ID_RANGE) return null;
    for (const m of this.containers()) {
      const ranges = this.mapOf(m, kind);
      if (!ranges) continue;
      const inner = idFromHost(ranges, hostId);
      if (inner === null) continue;
      // Upstream stops at the first machine that owns the ID, even if the name turns out invalid.
      const name = synthesizedName(kind, m.name, inner);
      if (!validUserGroupName(name)) return null;
      return { kind, name, id: hostId, comment: comment(kind, inner, m.name) };
    }
    return null;
  }

  /** GetUserRecord / GetGroupRecord by name. */
  byName(kind: IdKind, name: string): Account | null {
    const parsed = parseSynthesizedName(kind, name);
    if (!parsed) return null;
    const m = this.source.list().find((x) => x.name === parsed.machine);
    if (!m || !isContainer(m)) return null;
    const ranges = this.mapOf(m, kind);
    if (!ranges) return null;
    const hostId = idToHost(ranges, parsed.id);
    if (hostId === null || hostId < HOST_ID_RANGE) return null;
    return { kind, name, id: hostId, comment: comment(kind, parsed.id, m.name) };
  }

  private containers(): SourceMachine[] {
    return this.source.list().filter(isContainer);
  }

  private mapOf(m: SourceMachine, kind: IdKind): IdRange[] | null {
    const key = `${m.leader}:${MAP_OF[kind]}`;
    const cached = this.maps.get(key);
    if (cached) return cached;
    if (!Number.isInteger(m.leader) || m.leader <= 0) return null;
    const ranges = this.readMap(m.leader, MAP_OF[kind]);
    if (ranges && ranges.length > 0) this.maps.set(key, ranges);
    return ranges;
  }
}

/** A source may not know the class; then the user namespace alone decides, as for nspawn. */
function isContainer(m: SourceMachine): boolean {
  return m.class === undefined || m.class === 'container';
}

function comment(kind: IdKind, inner: number, machine: string): string | null {
  const text = kind === 'user' ? `UID ${inner} of Container ${machine}` : `GID ${inner} of Container ${machine}`;
  return validGecos(text) ? text : null;
}
