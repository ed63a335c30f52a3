/**
 * Upstream's rules for the names and numbers of synthesized users and groups
 * (src/basic/user-util.c): what machined refuses to synthesize, nss-systemd would refuse to show.
 */

/** UT_NAMESIZE - 1: names must fit utmp. */
export const USER_NAME_MAX = 31;

/**
 * valid_user_group_name() in strict mode, the one machined uses for names it makes up: a letter or
 * `_` first, then letters, digits, `_` and `-`; no dots; at most 31 characters; not numeric.
 */
export function validUserGroupName(s: string): boolean {
  return s.length <= USER_NAME_MAX && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s);
}

/** uid_is_valid(): every 32-bit value except (uid_t) -1 and the 16-bit -1 (65535). */
export function uidIsValid(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff && n !== 0xffffffff && n !== 0xffff;
}

/**
 * parse_uid() for the number at the end of `vu-MACHINE-UID`, in canonical decimal only: a name
 * like `vu-foo-007` would otherwise resolve to a record whose number maps back to `vu-foo-7`.
 */
export function parseUid(s: string): number | null {
  if (!/^(0|[1-9][0-9]{0,9})$/.test(s)) return null;
  const n = Number(s);
  return uidIsValid(n) ? n : null;
}

/** valid_gecos(): no control characters and no `:` (the passwd field separator). */
export function validGecos(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f:]/.test(s);
}

/**
 * string_is_safe(): what json_dispatch accepts for a user or group name field (JSON_SAFE): no
 * control characters, no quotes and no backslash.
 */
export function stringIsSafe(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f"'\\]/.test(s);
}

export type IdKind = 'user' | 'group';

export const NAME_PREFIX: Record<IdKind, string> = { user: 'vu-', group: 'vg-' };

/** `vu-MACHINE-UID` / `vg-MACHINE-GID`. */
export function synthesizedName(kind: IdKind, machine: string, inner: number): string {
  return `${NAME_PREFIX[kind]}${machine}-${inner}`;
}

/**
 * Splits `vu-MACHINE-UID` at the last `-`, as upstream does, so machine names may contain dashes
 * (`vu-my-box-0` → machine `my-box`, 0). Null for anything that is not such a name.
 */
export function parseSynthesizedName(kind: IdKind, name: string): { machine: string; id: number } | null {
  if (!validUserGroupName(name)) return null;
  const prefix = NAME_PREFIX[kind];
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  const dash = rest.lastIndexOf('-');
  if (dash < 0) return null;
  const id = parseUid(rest.slice(dash + 1));
  if (id === null) return null;
  return { machine: rest.slice(0, dash), id };
}
