/**
 * Images as btrfs subvolumes when the pool is on btrfs, as upstream's importers do: the temporary
 * of a tar or directory import is made with btrfs_subvol_make_fallback (a subvolume, a plain
 * directory when that cannot be), gets upstream's automatic quota groups
 * (import_assign_pool_quota_and_warn: failures only logged), and read_only sets the subvolume's
 * read-only property instead of the immutable flag. Node has no ioctl, so this goes through
 * btrfs-progs' `btrfs` tool; without it, or off btrfs, importd works on plain directories as
 * before. (machined has its own, larger btrfs module; apps do not share code.)
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolCommand } from './child.js';

const execFileAsync = promisify(execFile);

const BTRFS_SUPER_MAGIC = 0x9123683e;
/** The inode number of every btrfs subvolume's root directory. */
const BTRFS_SUBVOL_ROOT_INO = 256;

/**
 * Runs `btrfs ARGS…` with only fds 0..2 (client fds received over D-Bus must not leak into it);
 * resolves to stdout, rejects with the tool's ERROR: line. No `--` before paths: btrfs-progs
 * counts it as an argument; every path given is absolute.
 */
async function btrfs(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(...toolCommand('btrfs', args), { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const lines = (err.stderr ?? '').trim().split('\n').filter((l) => l.trim() !== '' && !l.startsWith('WARNING'));
    throw new Error(`btrfs ${args.slice(0, 2).join(' ')}: ${(lines.find((l) => l.startsWith('ERROR:')) ?? lines[0] ?? err.message).replace(/^ERROR: /, '')}`);
  }
}

let toolPresent: Promise<boolean> | null = null;

/** Whether btrfs-progs is installed (asked once). */
function btrfsToolPresent(): Promise<boolean> {
  toolPresent ??= execFileAsync('btrfs', ['--version']).then(
    () => true,
    () => false,
  );
  return toolPresent;
}

async function onBtrfs(path: string): Promise<boolean> {
  try {
    return (await fs.statfs(path)).type === BTRFS_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/** Whether images in dir can be subvolumes: dir is on btrfs and the tool is there. */
export async function canMakeSubvolumes(dir: string): Promise<boolean> {
  return (await onBtrfs(dir)) && (await btrfsToolPresent());
}

/** Whether path (not followed) is the root of a btrfs subvolume we can handle with the tool. */
export async function isSubvolume(path: string): Promise<boolean> {
  const st = await fs.lstat(path).catch(() => null);
  return st !== null && st.isDirectory() && st.ino === BTRFS_SUBVOL_ROOT_INO && (await canMakeSubvolumes(path));
}

/** btrfs_subvol_make: a new, empty subvolume at path (which must not exist). */
export async function makeSubvolume(path: string): Promise<void> {
  await btrfs(['subvolume', 'create', path]);
}

export async function setSubvolumeReadOnly(path: string, readOnly: boolean): Promise<void> {
  await btrfs(['property', 'set', '-ts', path, 'ro', readOnly ? 'true' : 'false']);
}

/**
 * Deletes the subvolume at path, a read-only one too (its flag cleared first, so that its
 * contents can go if the delete has to fall back), with its quota groups as upstream's
 * BTRFS_REMOVE_QUOTA. A subvolume holding nested ones cannot be deleted whole: then the tree is
 * emptied by rm (as root, rmdir removes empty nested subvolumes) and the subvolume deleted.
 */
export async function deleteSubvolume(path: string): Promise<void> {
  await setSubvolumeReadOnly(path, false).catch(() => undefined);
  const id = await subvolumeIdOf(path).catch(() => null);
  try {
    await btrfs(['subvolume', 'delete', path]);
  } catch {
    for (const e of await fs.readdir(path)) await fs.rm(join(path, e), { recursive: true, force: true });
    await btrfs(['subvolume', 'delete', path]);
  }
  if (id !== null) await destroyQgroups(join(path, '..'), id).catch(() => undefined);
}

async function subvolumeIdOf(path: string): Promise<bigint> {
  const out = (await btrfs(['inspect-internal', 'rootid', path])).trim();
  if (!/^\d+$/.test(out)) throw new Error(`Cannot read the subvolume id of ${path}`);
  return BigInt(out);
}

// ---- quota groups (upstream's btrfs_subvol_auto_qgroup with an intermediary qgroup) ----

const splitQgroupId = (q: string): [bigint, bigint] => {
  const [level, id] = q.split('/');
  return [BigInt(level ?? 0), BigInt(id ?? 0)];
};

/** qgroup → its parent qgroups, or null when quota is not enabled on the file system of path. */
async function qgroupParents(path: string): Promise<Map<string, string[]> | null> {
  let out: string;
  try {
    out = await btrfs(['qgroup', 'show', '-pcre', '--raw', path]);
  } catch (e) {
    if (/quotas? not enabled|not connected/i.test((e as Error).message)) return null;
    throw e;
  }
  const parents = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^\d+\/\d+$/.test(f[0]!)) continue;
    parents.set(f[0]!, f[5] === '-' ? [] : f[5]!.split(','));
  }
  return parents;
}

async function qgroupCall(args: string[], path: string, okIf?: RegExp): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await btrfs(args);
      return;
    } catch (e) {
      const m = (e as Error).message;
      if (okIf?.test(m)) return;
      // A quota rescan (after `quota enable`, or some assignments) holds the qgroups for a while.
      if (!/busy/i.test(m) || attempt >= 10) throw e;
      await btrfs(['quota', 'rescan', '-W', path]).catch(() => undefined);
    }
  }
}

/**
 * btrfs_subvol_auto_qgroup(path, 0, true): unless its leaf qgroup already belongs to some, the
 * subvolume at path gets an intermediary qgroup L/ID (L one below its parent's lowest, 255 when
 * none) inside its parent subvolume's qgroups, holding its leaf qgroup 0/ID, so that a limit set
 * later covers what is nested in it. Nothing to do when quota is off.
 */
async function autoQgroup(path: string): Promise<void> {
  const groups = await qgroupParents(path);
  if (!groups) return;
  const id = await subvolumeIdOf(path);
  const leaf = `0/${id}`;
  if ((groups.get(leaf)?.length ?? 0) > 0) return;
  const parentId = id === 5n ? null : await subvolumeIdOf(join(path, '..')).catch(() => null);
  const parentGroups = parentId === null ? [] : (groups.get(`0/${parentId}`) ?? []);
  const lowest = parentGroups.reduce((low, p) => (splitQgroupId(p)[0] < low ? splitQgroupId(p)[0] : low), 256n);
  if (lowest <= 1n) throw new Error(`no qgroup level left below the parent of ${path}`);
  const mine = `${lowest - 1n}/${id}`;
  if (!groups.has(mine)) await qgroupCall(['qgroup', 'create', mine, path], path, /exists/i);
  for (const p of parentGroups) await qgroupCall(['qgroup', 'assign', mine, p, path], path, /exists/i);
  await qgroupCall(['qgroup', 'assign', leaf, mine, path], path, /exists/i);
}

/**
 * import_assign_pool_quota_and_warn: the automatic qgroups of the pool (when it is a subvolume)
 * and of the new image subvolume. Returns what went wrong, for the caller to log (upstream
 * ignores it too: quota is an extra, never a reason to fail an import).
 */
export async function assignPoolQuota(pool: string, subvolume: string): Promise<string | null> {
  try {
    const st = await fs.lstat(pool);
    if (st.ino === BTRFS_SUBVOL_ROOT_INO) await autoQgroup(pool);
    await autoQgroup(subvolume);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** btrfs_qgroup_destroy_recursive for a deleted subvolume: its leaf and intermediary qgroups. */
async function destroyQgroups(path: string, subvolId: bigint): Promise<void> {
  const groups = await qgroupParents(path);
  if (!groups) return;
  const doomed = [...groups.keys()].filter((q) => splitQgroupId(q)[1] === subvolId);
  // Higher levels first: a qgroup with members cannot be destroyed.
  doomed.sort((a, b) => (splitQgroupId(b)[0] > splitQgroupId(a)[0] ? 1 : -1));
  for (const q of doomed) {
    for (const p of groups.get(q) ?? []) await btrfs(['qgroup', 'remove', q, p, path]).catch(() => undefined);
    for (const [child, parents] of groups) if (parents.includes(q)) await btrfs(['qgroup', 'remove', child, q, path]).catch(() => undefined);
    await btrfs(['qgroup', 'destroy', q, path]).catch(() => undefined);
  }
}
