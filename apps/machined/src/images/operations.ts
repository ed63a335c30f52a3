/**
 * The file operations behind the mutating image calls. Each leaves the pool consistent at every
 * instant: a clone is made under a hidden temporary name (`.#clone-…`, never listed) and renamed
 * into place when complete; a directory to remove is first renamed to `.#remove-…` (it leaves
 * the listing at once) and then deleted. Temporaries a crash left behind are removed at start.
 * On btrfs, subvolumes are handled as upstream does (btrfs.ts): clones into a btrfs pool are
 * subvolumes (snapshots when the source is one), deletes go through `btrfs subvolume delete`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Errors, isBusError, type Logger } from '@machined/protocol';
import {
  autoQgroup,
  btrfsToolPresent,
  createSubvolume,
  isBtrfs,
  isSubvolume,
  quotaOf,
  readQgroups,
  removeTreeWithSubvolumes,
  setSubtreeLimit,
  setSubvolumeReadOnly,
  snapshotRecursive,
} from './btrfs.js';
import { setImmutable } from './file-attributes.js';
import { CLONE_PREFIX, isOwnTemporary, REMOVE_PREFIX, UNKNOWN, type Image } from './image.js';

const execFileAsync = promisify(execFile);


/**
 * Runs a slow helper (cp, rm) that dies with machined (setpriv --pdeathsig): a crash must not
 * leave a copy running into a temporary that the next start is about to delete.
 */
async function run(cmd: string, args: string[]): Promise<void> {
  try {
    await execFileAsync('setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args], { maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error((err.stderr ?? '').trim().split('\n').slice(-1)[0] || err.message);
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

const rmrf = (p: string) => run('rm', ['-rf', '--one-file-system', '--', p]);

/**
 * Deletes a directory tree. On btrfs the subvolumes in it go first (rm cannot delete a subvolume
 * that holds another, nor anything in a read-only one), as upstream's rm_rf with REMOVE_SUBVOLUME.
 */
async function removeTree(p: string): Promise<void> {
  // A symlink to a tree (an image linked into the pool) goes alone, its target stays.
  if ((await fs.lstat(p)).isSymbolicLink()) await fs.unlink(p);
  else if ((await isBtrfs(p)) && (await btrfsToolPresent())) await removeTreeWithSubvolumes(p, rmrf);
  else await rmrf(p);
}

/** The file name an image of this type and name has in a search directory. */
export function imageFileName(type: Image['type'], name: string): string {
  return type === 'raw' ? `${name}.raw` : name;
}

/** The .nspawn settings file kept beside an image, which follows it on rename and remove. */
const settingsPath = (image: Image) => join(dirname(image.path), `${image.name}.nspawn`);

const tempName = (prefix: string, name: string) => `${prefix}${name}-${randomBytes(4).toString('hex')}`;

export async function removeImageFiles(image: Image): Promise<void> {
  const fail = (e: unknown) => Errors.imageOperationFailed('remove', image.name, (e as Error).message);
  if (image.type === 'directory' || image.type === 'subvolume') {
    const doomed = join(dirname(image.path), tempName(REMOVE_PREFIX, image.name));
    await fs.rename(image.path, doomed).catch((e) => {
      throw fail(e);
    });
    await removeTree(doomed).catch((e) => {
      throw fail(e);
    });
  } else if (image.type === 'block' && image.path.startsWith('/dev/')) {
    // A real device node: nothing to delete, only what is kept beside it.
  } else {
    await fs.unlink(image.path).catch((e) => {
      throw fail(e);
    });
  }
  await fs.unlink(settingsPath(image)).catch(() => {});
}

export async function renameImageFiles(image: Image, newName: string): Promise<void> {
  const target = join(dirname(image.path), imageFileName(image.type, newName));
  if (await exists(target)) throw Errors.imageExists(newName);
  await fs.rename(image.path, target).catch((e) => {
    throw Errors.imageOperationFailed('rename', image.name, (e as Error).message);
  });
  await fs.rename(settingsPath(image), join(dirname(image.path), `${newName}.nspawn`)).catch(() => {});
}

/**
 * Copies the image into the pool as newName: `cp -a --reflink=auto` keeps ownership, modes,
 * xattrs, ACLs, device nodes, hard links and symlinks, and shares extents where the file system can.
 */
export async function cloneImageFiles(image: Image, poolPath: string, newName: string, readOnly: boolean): Promise<void> {
  await cloneImageData(image, poolPath, newName, readOnly);
  // The settings file beside the image goes with the clone, as upstream's image_clone copies it;
  // never over one the new name already has.
  await fs.copyFile(settingsPath(image), join(poolPath, `${newName}.nspawn`), fsConstants.COPYFILE_EXCL).catch(() => {});
}

async function cloneImageData(image: Image, poolPath: string, newName: string, readOnly: boolean): Promise<void> {
  const fileName = imageFileName(image.type === 'block' ? 'raw' : image.type, newName);
  const target = join(poolPath, fileName);
  if (await exists(target)) throw Errors.imageExists(newName);
  const temp = join(poolPath, tempName(CLONE_PREFIX, fileName));
  if ((image.type === 'directory' || image.type === 'subvolume') && (await isBtrfs(poolPath)) && (await btrfsToolPresent())) {
    return cloneIntoSubvolume(image, temp, target, newName, readOnly);
  }
  try {
    const args = ['-a', '--reflink=auto'];
    if (image.type === 'raw' || image.type === 'block') args.push('--sparse=always');
    // A block device is copied as its contents, into a raw file.
    if (image.type === 'block') args.splice(0, 1, '-R', '--preserve=mode,timestamps', '--copy-contents');
    // The tree itself, also when the pool holds only a symlink to it (cp -a would copy the link).
    const source = await fs.realpath(image.path);
    await run('cp', [...args, '--', source, temp]);
    const st = await fs.stat(temp);
    if (!st.isDirectory() && readOnly) await fs.chmod(temp, st.mode & 0o444);
    if (!st.isDirectory() && !readOnly) await fs.chmod(temp, (st.mode & 0o7777) | 0o200);
    if (await exists(target)) throw Errors.imageExists(newName);
    await fs.rename(temp, target);
    if (st.isDirectory() && readOnly) await setImmutable(target, true);
  } catch (e) {
    await run('rm', ['-rf', '--one-file-system', '--', temp]).catch(() => {});
    if (isBusError(e)) throw e;
    throw Errors.imageOperationFailed('clone', image.name, (e as Error).message);
  }
}

/**
 * A clone into a btrfs pool is always a subvolume, as upstream's btrfs_subvol_snapshot with
 * FALLBACK_COPY: a (recursive) snapshot of a subvolume, or a new subvolume with the tree copied in
 * (reflinked) for a plain directory or a subvolume of another file system. A read-only clone gets
 * the subvolume's read-only flag. Afterwards, as upstream, the clone gets its own subtree quota
 * group (when quota is on), with the source's limit if it had one.
 */
async function cloneIntoSubvolume(image: Image, temp: string, target: string, newName: string, readOnly: boolean): Promise<void> {
  try {
    const source = await fs.realpath(image.path);
    let snapshotted = false;
    if (await isSubvolume(source)) {
      try {
        await snapshotRecursive(source, temp, readOnly);
        snapshotted = true;
      } catch (e) {
        // A subvolume of another btrfs file system cannot be snapshotted here: copied instead.
        if ((e as { errno?: string }).errno !== 'EXDEV') throw e;
        if (await exists(temp)) await removeTree(temp);
      }
    }
    if (!snapshotted) {
      await createSubvolume(temp);
      // `SRC/.` into the new subvolume: the top directory's owner, mode, xattrs and times too.
      await run('cp', ['-a', '--reflink=auto', '--', `${source}/.`, `${temp}/`]);
      if (readOnly) await setSubvolumeReadOnly(temp, true);
    }
    if (await exists(target)) throw Errors.imageExists(newName);
    await fs.rename(temp, target);
  } catch (e) {
    await removeTree(temp).catch(() => {});
    if (isBusError(e)) throw e;
    throw Errors.imageOperationFailed('clone', image.name, (e as Error).message);
  }
  await inheritQuota(image, target).catch(() => {});
}

/** Subtree qgroup for a new subvolume, with the limit of the source's (BTRFS_SNAPSHOT_QUOTA). */
async function inheritQuota(image: Image, target: string): Promise<void> {
  const groups = await readQgroups(target);
  if (!groups) return; // Quota is off: never switched on behind the user's back (systemd#18421).
  await autoQgroup(target);
  const limit = image.type === 'subvolume' ? (await quotaOf(image.path))?.maxReferenced : undefined;
  if (limit !== undefined && limit !== UNKNOWN) await setSubtreeLimit(target, limit);
}

export async function markImageFilesReadOnly(image: Image, readOnly: boolean): Promise<void> {
  try {
    if (image.type === 'subvolume') {
      // As upstream: the flag of the image's top subvolume only (nested ones keep theirs).
      await setSubvolumeReadOnly(await fs.realpath(image.path), readOnly);
    } else if (image.type === 'directory') {
      // As upstream: the immutable flag on the top directory; the tree's modes belong to the container.
      await setImmutable(await fs.realpath(image.path), readOnly);
    } else if (image.type === 'raw') {
      const st = await fs.stat(image.path);
      await fs.chmod(image.path, (st.mode & 0o444) | (readOnly ? 0 : 0o200));
    } else {
      throw Errors.notSupported(`Marking ${image.type} images read-only is not supported.`);
    }
  } catch (e) {
    if (isBusError(e)) throw e;
    throw Errors.imageOperationFailed('mark read-only', image.name, (e as Error).message);
  }
}

/** Deletes what an interrupted clone or remove left in a search directory. */
export async function removeStaleTemporaries(dir: string, log: Logger): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    if (!isOwnTemporary(e)) continue;
    const p = join(dir, e);
    log.info(`Removing ${basename(p)}, left over from an interrupted operation, from ${dir}.`);
    await setImmutable(p, false).catch(() => {});
    await removeTree(p).catch((err: Error) => log.warning(`Cannot remove ${p}: ${err.message}`));
  }
}
