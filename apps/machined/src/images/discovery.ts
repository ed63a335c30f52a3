/**
 * Finding the images of the search path as upstream's image_discover does: every directory (a
 * btrfs subvolume as type `subvolume`, with its read-only flag and quota figures), `NAME.raw`
 * regular file and block device (symlinks followed, so trees and devices may be linked
 * in), the first directory of the search path winning a name clash, `.host` standing for `/`.
 * Hidden images (a leading dot) are listed: machinectl hides them unless --all.
 */
import { promises as fs, type BigIntStats } from 'node:fs';
import { dirname, join } from 'node:path';
import { HOST_MACHINE_NAME, imageNameIsValid, type Logger } from '@machined/protocol';
import { BTRFS_SUBVOL_ROOT_INO, isBtrfs, readQgroups, subtreeQuota, subvolumeFacts, type Qgroup } from './btrfs.js';
import { immutablePaths } from './file-attributes.js';
import { isOwnTemporary, UNKNOWN, type Image } from './image.js';

/**
 * The quota groups of the file systems a scan meets, read once per directory (one `btrfs qgroup
 * show` covers every image beside each other); null where quota is off.
 */
export type QgroupCache = Map<string, Promise<Map<string, Qgroup> | null>>;

/** Upstream's search path for machine images, in order of precedence; the pool replaces /var/lib/machines. */
export function defaultSearchPath(poolPath: string): string[] {
  return ['/etc/machines', '/run/machines', poolPath, '/usr/local/lib/machines', '/usr/lib/machines'];
}

export function isVendorPath(p: string): boolean {
  return p === '/usr' || p.startsWith('/usr/');
}

const usec = (ns: bigint) => ns / 1000n;

async function isReadOnlyFs(path: string): Promise<boolean> {
  try {
    await fs.access(path, fs.constants.W_OK);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EROFS';
  }
}

async function blockDeviceFacts(st: BigIntStats): Promise<{ size: bigint; readOnly: boolean }> {
  const major = st.rdev >> 8n & 0xfffn;
  const minor = (st.rdev & 0xffn) | ((st.rdev >> 12n) & 0xfff00n);
  const sys = `/sys/dev/block/${major}:${minor}`;
  const read = (f: string) => fs.readFile(join(sys, f), 'utf8').then((s) => s.trim()).catch(() => '');
  const sectors = await read('size');
  return { size: /^\d+$/.test(sectors) ? BigInt(sectors) * 512n : UNKNOWN, readOnly: (await read('ro')) === '1' };
}

/** The image at path (following symlinks) named name, or null if it is not one we know. */
export async function makeImage(name: string, path: string, st?: BigIntStats, qgroups: QgroupCache = new Map()): Promise<Image | null> {
  try {
    st ??= await fs.stat(path, { bigint: true });
  } catch {
    return null;
  }
  const vendor = isVendorPath(path);
  const readOnly = vendor || (await isReadOnlyFs(path));
  const base = { name, path, vendor, usage: UNKNOWN, usageExclusive: UNKNOWN, limit: UNKNOWN, limitExclusive: UNKNOWN };
  if (st.isDirectory()) {
    if (st.ino === BTRFS_SUBVOL_ROOT_INO && (await isBtrfs(path))) return makeSubvolumeImage(base, path, st, readOnly, qgroups);
    return {
      ...base,
      type: 'directory',
      readOnly,
      crtime: usec(st.birthtimeNs),
      // As upstream: a directory's own mtime says nothing about changes in the tree below it.
      mtime: 0n,
    };
  }
  if (st.isFile() && path.endsWith('.raw')) {
    const size = st.blocks * 512n;
    return {
      ...base,
      type: 'raw',
      readOnly: readOnly || (st.mode & 0o222n) === 0n,
      crtime: usec(st.birthtimeNs),
      mtime: usec(st.mtimeNs),
      usage: size,
      usageExclusive: size,
      limit: st.size,
      limitExclusive: st.size,
    };
  }
  if (st.isBlockDevice()) {
    const dev = await blockDeviceFacts(st);
    const known = dev.size !== UNKNOWN && dev.size !== 0n;
    return {
      ...base,
      type: 'block',
      readOnly: readOnly || dev.readOnly || (st.mode & 0o222n) === 0n,
      crtime: 0n,
      mtime: 0n,
      ...(known ? { usage: dev.size, usageExclusive: dev.size, limit: dev.size, limitExclusive: dev.size } : {}),
    };
  }
  return null;
}

/**
 * A btrfs subvolume, as upstream's image_make: read-only when the subvolume is, created when the
 * subvolume was (a snapshot's own time), and usage and limits from its subtree quota group when
 * quota is enabled (else unknown).
 */
async function makeSubvolumeImage(
  base: Omit<Image, 'type' | 'readOnly' | 'crtime' | 'mtime'>,
  path: string,
  st: BigIntStats,
  readOnly: boolean,
  qgroups: QgroupCache,
): Promise<Image> {
  const image: Image = { ...base, type: 'subvolume', readOnly, crtime: usec(st.birthtimeNs), mtime: usec(st.ctimeNs) };
  try {
    const facts = await subvolumeFacts(path);
    image.readOnly ||= facts.readOnly;
    if (facts.crtime !== 0n) image.crtime = facts.crtime;
    // Keyed by the real parent directory: links in one directory may lead to different file systems.
    const dir = dirname(await fs.realpath(path));
    let groups = qgroups.get(dir);
    if (!groups) {
      groups = readQgroups(path).catch(() => null);
      qgroups.set(dir, groups);
    }
    const table = await groups;
    const quota = table ? subtreeQuota(table, facts.id) : null;
    if (quota) {
      image.usage = quota.referenced;
      image.usageExclusive = quota.exclusive;
      image.limit = quota.maxReferenced;
      image.limitExclusive = quota.maxExclusive;
    }
  } catch {
    // Without btrfs-progs (or on a subvolume it cannot read) the image is still listed, figures unknown.
  }
  return image;
}

/** The image name a directory entry stands for, given what it is; null for anything else. */
function imageNameOf(entry: string, st: BigIntStats): string | null {
  let name: string | null = null;
  if (st.isFile()) name = entry.endsWith('.raw') ? entry.slice(0, -'.raw'.length) : null;
  else if (st.isDirectory() || st.isBlockDevice()) name = entry;
  return name !== null && imageNameIsValid(name) ? name : null;
}

export async function hostImage(): Promise<Image> {
  const st = await fs.stat('/', { bigint: true });
  return {
    name: HOST_MACHINE_NAME,
    path: '/',
    type: 'directory',
    readOnly: true,
    vendor: false,
    crtime: usec(st.birthtimeNs),
    mtime: 0n,
    usage: UNKNOWN,
    usageExclusive: UNKNOWN,
    limit: UNKNOWN,
    limitExclusive: UNKNOWN,
  };
}

export interface DiscoveryResult {
  images: Map<string, Image>;
  /** Search directories that exist (and so can be watched). */
  present: string[];
}

export async function discoverImages(searchPath: string[], log: Logger): Promise<DiscoveryResult> {
  const images = new Map<string, Image>();
  const qgroups: QgroupCache = new Map();
  const present: string[] = [];
  for (const dir of searchPath) {
    let entries: string[];
    try {
      entries = await fs.readdir(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') log.warning(`Cannot read image directory ${dir}: ${(e as Error).message}`);
      continue;
    }
    present.push(dir);
    for (const entry of entries.sort()) {
      if (isOwnTemporary(entry)) continue;
      const path = join(dir, entry);
      let st: BigIntStats;
      try {
        st = await fs.stat(path, { bigint: true });
      } catch {
        continue; // vanished, or a dangling symlink
      }
      const name = imageNameOf(entry, st);
      if (name === null || images.has(name)) continue;
      const image = await makeImage(name, path, st, qgroups);
      if (image) images.set(name, image);
    }
  }
  if (!images.has(HOST_MACHINE_NAME)) images.set(HOST_MACHINE_NAME, await hostImage());
  await applyImmutableFlags([...images.values()]);
  return { images, present };
}

/** Marks directory images whose top directory carries the immutable flag as read-only. */
export async function applyImmutableFlags(images: Image[]): Promise<void> {
  const dirs = images.filter((i) => (i.type === 'directory' || i.type === 'subvolume') && i.path !== '/');
  const real = new Map<string, Image>();
  for (const i of dirs) {
    const r = await fs.realpath(i.path).catch(() => null);
    if (r) real.set(r, i);
  }
  const flagged = await immutablePaths([...real.keys()]);
  for (const [p, i] of real) if (flagged.has(p)) i.readOnly = true;
}
