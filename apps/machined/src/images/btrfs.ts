/**
 * The btrfs side of the image pool, through btrfs-progs' `btrfs` tool (Node has no ioctl): what
 * upstream's btrfs-util.c does with ioctls for machined — subvolume facts, read-only flag,
 * recursive snapshots and deletes, and the "subtree" quota groups upstream uses for limits.
 *
 * Upstream's quota layout (btrfs_subvol_auto_qgroup): a subvolume S gets an intermediary qgroup
 * `L/S` (L one below the lowest level its parent subvolume's leaf qgroup belongs to, 255 if none),
 * member of the parent's qgroups, with S's leaf qgroup `0/S` as member. The "subtree" qgroup of S
 * is the lowest-level qgroup with id part S that 0/S belongs to, else 0/S itself; usage and
 * limits are read from it, so a limit covers an image's nested subvolumes too.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const BTRFS_SUPER_MAGIC = 0x9123683e;
/** The inode number of every btrfs subvolume's root directory. */
export const BTRFS_SUBVOL_ROOT_INO = 256n;
const UINT64_MAX = 0xffffffffffffffffn;

/** A failed `btrfs` call; errno is the errno name when the tool's message names one. */
export class BtrfsError extends Error {
  constructor(
    message: string,
    readonly errno?: string,
  ) {
    super(message);
    this.name = 'BtrfsError';
  }
}

const ERRNO_TEXT: Record<string, string> = {
  'No such file or directory': 'ENOENT',
  'File exists': 'EEXIST',
  'Directory not empty': 'ENOTEMPTY',
  'Read-only file system': 'EROFS',
  'Invalid argument': 'EINVAL',
  'Device or resource busy': 'EBUSY',
  'Transport endpoint is not connected': 'ENOTCONN',
  'Operation not permitted': 'EPERM',
  'Inappropriate ioctl for device': 'ENOTTY',
  'Invalid cross-device link': 'EXDEV',
  'No space left on device': 'ENOSPC',
  'Disk quota exceeded': 'EDQUOT',
};

/**
 * Runs `btrfs ARGS…` (dying with machined, like the other helpers); resolves to its stdout. No
 * `--` before paths: btrfs-progs counts it as an argument. Every path given is absolute.
 */
export async function btrfs(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('setpriv', ['--pdeathsig', 'KILL', '--', 'btrfs', ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string; code?: string | number };
    if (err.code === 'ENOENT') throw new BtrfsError('btrfs-progs is not installed (no btrfs or setpriv in PATH)', 'ENOENT');
    // The tool's ERROR: line says what failed; usage text or warnings may follow it.
    const lines = (err.stderr ?? '').trim().split('\n').filter((l) => l.trim() !== '' && !l.startsWith('WARNING'));
    const message = lines.find((l) => l.startsWith('ERROR:')) ?? lines[0] ?? err.message;
    const errno = Object.entries(ERRNO_TEXT).find(([text]) => message.includes(text))?.[1];
    throw new BtrfsError(message.replace(/^ERROR: /, ''), errno);
  }
}

let toolPresent: Promise<boolean> | null = null;

/** Whether btrfs-progs is installed; without it, btrfs pools are handled like any other directory. */
export function btrfsToolPresent(): Promise<boolean> {
  toolPresent ??= execFileAsync('btrfs', ['--version']).then(
    () => true,
    () => false,
  );
  return toolPresent;
}

export async function isBtrfs(path: string): Promise<boolean> {
  try {
    return (await fs.statfs(path)).type === BTRFS_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/** Whether path (symlinks followed) is the root of a btrfs subvolume. */
export async function isSubvolume(path: string): Promise<boolean> {
  const st = await fs.stat(path, { bigint: true }).catch(() => null);
  return st !== null && st.isDirectory() && st.ino === BTRFS_SUBVOL_ROOT_INO && (await isBtrfs(path));
}

export interface SubvolumeFacts {
  id: bigint;
  readOnly: boolean;
  /** Creation time of the subvolume (a snapshot's own, not its source's), µs; 0 when unknown. */
  crtime: bigint;
}

/** `btrfs subvolume show`: the subvolume's id, read-only flag and creation time. */
export async function subvolumeFacts(path: string): Promise<SubvolumeFacts> {
  const out = await btrfs(['subvolume', 'show', path]);
  const field = (name: string) => new RegExp(`^\\s*${name}:\\s*(.*)$`, 'm').exec(out)?.[1]?.trim() ?? '';
  const id = field('Subvolume ID');
  if (!/^\d+$/.test(id)) throw new BtrfsError(`Cannot read the subvolume id of ${path}`);
  const created = Date.parse(field('Creation time').replace(/^(\S+) (\S+) ([+-]\d\d)(\d\d)$/, '$1T$2$3:$4'));
  return {
    id: BigInt(id),
    readOnly: field('Flags').split(/[\s,|]+/).includes('readonly'),
    crtime: Number.isNaN(created) ? 0n : BigInt(created) * 1000n,
  };
}

/** The id of the subvolume holding path (any file or directory on btrfs). */
export async function subvolumeIdOf(path: string): Promise<bigint> {
  const out = (await btrfs(['inspect-internal', 'rootid', path])).trim();
  if (!/^\d+$/.test(out)) throw new BtrfsError(`Cannot read the subvolume id of ${path}`);
  return BigInt(out);
}

export async function setSubvolumeReadOnly(path: string, readOnly: boolean): Promise<void> {
  await btrfs(['property', 'set', '-ts', path, 'ro', readOnly ? 'true' : 'false']);
}

export async function createSubvolume(path: string): Promise<void> {
  await btrfs(['subvolume', 'create', path]);
}

/**
 * The subvolumes nested in the tree at dir (not below each other: each one's own nested ones are
 * its business), as paths relative to dir. On btrfs only a subvolume root has inode 256.
 */
export async function nestedSubvolumes(dir: string): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('find', [dir, '-mindepth', '1', '-type', 'd', '-inum', '256', '-print0', '-prune'], {
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (e) {
    // Unreadable corners are not ours to judge here: whatever find printed is still right.
    stdout = (e as { stdout?: string }).stdout ?? '';
  }
  const found: string[] = [];
  const mounts = await mountPoints();
  for (const p of stdout.split('\0')) {
    if (p === '' || !p.startsWith(`${dir}/`)) continue;
    // A file system mounted into the tree is not part of it (and never deleted or snapshotted).
    if (mounts.has(p)) continue;
    if (await isBtrfs(p)) found.push(p.slice(dir.length + 1));
  }
  return found;
}

/** Mount points of this mount namespace (mountinfo's fifth field, octal escapes undone). */
async function mountPoints(): Promise<Set<string>> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return new Set(text.split('\n').map((l) => unescape(l.split(' ')[4] ?? '')).filter((p) => p !== ''));
}

/**
 * Snapshots the subvolume src to dst, with its nested subvolumes (which a btrfs snapshot leaves as
 * empty directories) snapshotted into place, as upstream's BTRFS_SNAPSHOT_RECURSIVE; read-only
 * snapshots are made writable first and flagged once complete.
 */
export async function snapshotRecursive(src: string, dst: string, readOnly: boolean): Promise<void> {
  await btrfs(['subvolume', 'snapshot', src, dst]);
  for (const rel of await nestedSubvolumes(src)) {
    await fs.rmdir(join(dst, rel));
    await snapshotRecursive(join(src, rel), join(dst, rel), readOnly);
  }
  if (readOnly) await setSubvolumeReadOnly(dst, true);
}

/**
 * Deletes the tree at path: nested subvolumes first (deepest first, a read-only parent made
 * writable so they can go), then the subvolume itself (`btrfs subvolume delete`, which also
 * takes a read-only one), or, for a plain directory, the rest with rm. Quota groups of deleted
 * subvolumes go too, as upstream's BTRFS_REMOVE_QUOTA.
 */
export async function removeTreeWithSubvolumes(path: string, rm: (p: string) => Promise<void>): Promise<void> {
  const subvolume = await isSubvolume(path);
  const nested = await nestedSubvolumes(path);
  if (nested.length > 0 && subvolume) await setSubvolumeReadOnly(path, false).catch(() => {});
  for (const rel of nested) await removeTreeWithSubvolumes(join(path, rel), rm);
  if (!subvolume) return rm(path);
  const id = await subvolumeIdOf(path).catch(() => null);
  await btrfs(['subvolume', 'delete', path]);
  if (id !== null) await destroyQgroups(join(path, '..'), id).catch(() => {});
}

// ---- quota groups ----

export interface Qgroup {
  id: string;
  referenced: bigint;
  exclusive: bigint;
  maxReferenced: bigint;
  maxExclusive: bigint;
  parents: string[];
}

export interface QuotaInfo {
  referenced: bigint;
  exclusive: bigint;
  maxReferenced: bigint;
  maxExclusive: bigint;
}

const qgroupId = (level: bigint, id: bigint) => `${level}/${id}`;
const splitQgroupId = (q: string): [bigint, bigint] => {
  const [level, id] = q.split('/');
  return [BigInt(level ?? 0), BigInt(id ?? 0)];
};
const size = (s: string | undefined): bigint => (s !== undefined && /^\d+$/.test(s) ? BigInt(s) : UINT64_MAX);

/**
 * Every quota group of the file system holding path, or null when quota is not enabled there.
 * (The text table: btrfs-progs 6.2's JSON output of qgroup show crashes with --raw.)
 */
export async function readQgroups(path: string): Promise<Map<string, Qgroup> | null> {
  let out: string;
  try {
    out = await btrfs(['qgroup', 'show', '-pcre', '--raw', path]);
  } catch (e) {
    if (/quotas? not enabled|ENOTCONN|not connected/i.test((e as Error).message)) return null;
    throw e;
  }
  return parseQgroupTable(out);
}

/** The table of `btrfs qgroup show -pcre --raw`: id, referenced, exclusive, their limits, parents, children, path. */
export function parseQgroupTable(out: string): Map<string, Qgroup> {
  const groups = new Map<string, Qgroup>();
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^\d+\/\d+$/.test(f[0]!)) continue;
    groups.set(f[0]!, {
      id: f[0]!,
      referenced: size(f[1]),
      exclusive: size(f[2]),
      maxReferenced: size(f[3]),
      maxExclusive: size(f[4]),
      parents: f[5] === '-' ? [] : f[5]!.split(','),
    });
  }
  return groups;
}

/** The qgroup upstream reads an image's figures from and puts its limit on (see the top comment). */
export function subtreeQgroup(groups: Map<string, Qgroup>, subvolId: bigint): string {
  const leaf = qgroupId(0n, subvolId);
  let best: [bigint, string] | null = null;
  for (const p of groups.get(leaf)?.parents ?? []) {
    const [level, id] = splitQgroupId(p);
    if (id === subvolId && (best === null || level < best[0])) best = [level, p];
  }
  return best?.[1] ?? leaf;
}

/** Usage and limits of the subtree qgroup of subvolume subvolId; null when quota is off or it has none. */
export function subtreeQuota(groups: Map<string, Qgroup>, subvolId: bigint): QuotaInfo | null {
  const q = groups.get(subtreeQgroup(groups, subvolId));
  return q ? { referenced: q.referenced, exclusive: q.exclusive, maxReferenced: q.maxReferenced, maxExclusive: q.maxExclusive } : null;
}

/** subtreeQuota for the subvolume holding path; null when not on btrfs or quota is off. */
export async function quotaOf(path: string): Promise<QuotaInfo | null> {
  if (!(await isBtrfs(path))) return null;
  const groups = await readQgroups(path);
  if (!groups) return null;
  return subtreeQuota(groups, await subvolumeIdOf(path));
}

export async function enableQuota(path: string): Promise<void> {
  await btrfs(['quota', 'enable', path]);
}

const limitArg = (limit: bigint) => (limit === UINT64_MAX ? 'none' : limit.toString());

/**
 * A qgroup change, retried while a quota rescan holds the qgroups (EBUSY), as upstream does
 * (a rescan follows every `quota enable` and some assignments).
 */
async function qgroupCall(args: string[], path: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await btrfs(args);
      return;
    } catch (e) {
      if ((e as BtrfsError).errno !== 'EBUSY' || attempt >= 10) throw e;
      await btrfs(['quota', 'rescan', '-W', path]).catch(() => {});
    }
  }
}

/** `btrfs qgroup limit` on one qgroup (referenced size, as upstream's btrfs_qgroup_set_limit). */
export async function setQgroupLimit(path: string, qgroup: string, limit: bigint): Promise<void> {
  await qgroupCall(['qgroup', 'limit', limitArg(limit), qgroup, path], path);
}

/**
 * Upstream's image_set_limit / image_set_pool_limit on the subvolume holding path: the limit on
 * its leaf qgroup (failure ignored), its subtree qgroup set up, and the limit on that one.
 * Throws ENOTCONN when quota is not enabled.
 */
export async function setSubtreeLimit(path: string, limit: bigint): Promise<void> {
  const id = await subvolumeIdOf(path);
  if (!(await readQgroups(path))) throw new BtrfsError('quotas not enabled', 'ENOTCONN');
  await setQgroupLimit(path, qgroupId(0n, id), limit).catch(() => {});
  await autoQgroup(path).catch(() => {});
  const groups = await readQgroups(path);
  if (!groups) throw new BtrfsError('quotas not enabled', 'ENOTCONN');
  await setQgroupLimit(path, subtreeQgroup(groups, id), limit);
}

/**
 * Upstream's btrfs_subvol_auto_qgroup(path, 0, insert_intermediary=true): gives the subvolume at
 * path its own intermediary qgroup inside its parent's qgroups, unless its leaf qgroup already
 * belongs to some. Needs quota enabled (fails otherwise, which callers may ignore, as upstream).
 */
export async function autoQgroup(path: string): Promise<void> {
  // Only for a subvolume itself (a plain directory would set up the qgroups of the one holding it).
  if (!(await isSubvolume(path))) throw new BtrfsError(`${path} is not a btrfs subvolume`, 'ENOTTY');
  const id = await subvolumeIdOf(path);
  const groups = await readQgroups(path);
  if (!groups) throw new BtrfsError('quotas not enabled', 'ENOTCONN');
  const leaf = qgroupId(0n, id);
  if ((groups.get(leaf)?.parents.length ?? 0) > 0) return;
  const parentId = id === 5n ? null : await subvolumeIdOf(join(path, '..')).catch(() => null);
  const parentGroups = parentId === null ? [] : (groups.get(qgroupId(0n, parentId))?.parents ?? []);
  let lowest = 256n;
  for (const p of parentGroups) {
    const [level] = splitQgroupId(p);
    if (level < lowest) lowest = level;
  }
  if (lowest <= 1n) throw new BtrfsError('no qgroup level left for an intermediary qgroup', 'EBUSY');
  const mine = qgroupId(lowest - 1n, id);
  if (!groups.has(mine)) await qgroupCall(['qgroup', 'create', mine, path], path);
  for (const p of parentGroups) await assign(mine, p, path);
  await assign(leaf, mine, path);
}

async function assign(child: string, parent: string, path: string): Promise<void> {
  try {
    await qgroupCall(['qgroup', 'assign', child, parent, path], path);
  } catch (e) {
    if ((e as BtrfsError).errno !== 'EEXIST') throw e;
  }
}

/** btrfs_qgroup_destroy_recursive for a deleted subvolume: its leaf qgroup and its intermediary ones. */
async function destroyQgroups(path: string, subvolId: bigint): Promise<void> {
  const groups = await readQgroups(path);
  if (!groups) return;
  const doomed = [...groups.keys()].filter((q) => splitQgroupId(q)[1] === subvolId);
  // Higher levels first: a qgroup with members cannot be destroyed.
  doomed.sort((a, b) => (splitQgroupId(b)[0] > splitQgroupId(a)[0] ? 1 : -1));
  for (const q of doomed) {
    for (const p of groups.get(q)?.parents ?? []) await btrfs(['qgroup', 'remove', q, p, path]).catch(() => {});
    for (const [child, g] of groups) if (g.parents.includes(q)) await btrfs(['qgroup', 'remove', child, q, path]).catch(() => {});
    await btrfs(['qgroup', 'destroy', q, path]).catch(() => {});
  }
}
