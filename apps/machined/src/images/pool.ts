/**
 * The image pool as machined sees it: the images of the search path, rescanned lazily after a
 * change (fs.watch on every search directory, and importd's pool.changed notices), and the
 * policy of every change to them: read-only, vendor and in-use images are refused, names are
 * checked, and at most OPERATIONS_MAX slow operations run at once.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { lstat, realpath } from 'node:fs/promises';
import { Errors, HOST_MACHINE_NAME, imageNameIsValid, type Logger } from '@machined/protocol';
import {
  autoQgroup,
  createSubvolume,
  enableQuota,
  isBtrfs,
  quotaOf,
  readQgroups,
  setSubtreeLimit,
  type BtrfsError,
  type QuotaInfo,
} from './btrfs.js';
import { discoverImages, isVendorPath } from './discovery.js';
import { imageIsHidden, imageIsHost, UNKNOWN, type Image } from './image.js';
import { readImageMetadata, type ImageMetadata } from './metadata.js';
import { PoolNotices } from './notices.js';
import { OperationSlots } from './operation-slots.js';
import {
  cloneImageFiles,
  markImageFilesReadOnly,
  removeImageFiles,
  removeStaleTemporaries,
  renameImageFiles,
} from './operations.js';

/** While a search directory is missing, how often to look whether it appeared (it cannot be watched). */
const MISSING_DIR_RECHECK_MS = 2000;
/** Rescans a query may trigger in a row while the pool keeps changing, before it answers with what it has. */
const MAX_RESCANS_PER_QUERY = 3;

export interface ImagePoolOptions {
  poolPath: string;
  searchPath: string[];
  runtimeDir: string;
  log: Logger;
  /** The registered machines: an image that is one's root directory is in use. */
  machines: () => Iterable<{ name: string; rootDirectory: string }>;
}

export type CleanMode = 'hidden' | 'all';

export class ImagePool {
  private images = new Map<string, Image>();
  private dirty = true;
  private scanning: Promise<void> | null = null;
  private readonly watchers = new Map<string, FSWatcher>();
  private recheck: NodeJS.Timeout | null = null;
  private notices: PoolNotices | null = null;
  private readonly slots = new OperationSlots();
  /** Metadata of raw and block images, which costs a mount: kept until the image's next rescan. */
  private readonly metadataCache = new WeakMap<Image, Promise<ImageMetadata>>();
  private closed = false;

  constructor(private readonly opts: ImagePoolOptions) {}

  get poolPath(): string {
    return this.opts.poolPath;
  }

  /**
   * PoolUsage / PoolLimit: as upstream, the subtree quota group of the pool's subvolume, read at
   * each query; UINT64_MAX off btrfs, with quota off, or without btrfs-progs.
   */
  get poolUsage(): Promise<bigint> {
    return this.poolQuota().then((q) => q?.referenced ?? UNKNOWN);
  }

  get poolLimit(): Promise<bigint> {
    return this.poolQuota().then((q) => q?.maxReferenced ?? UNKNOWN);
  }

  private poolQuota(): Promise<QuotaInfo | null> {
    return quotaOf(this.opts.poolPath).catch(() => null);
  }

  /** Call once the bus name is ours: it deletes temporaries, which belong to whoever owns the name. */
  async start(): Promise<void> {
    for (const dir of this.opts.searchPath) if (!isVendorPath(dir)) await removeStaleTemporaries(dir, this.opts.log);
    await this.snapshot();
    this.notices = new PoolNotices(this.opts.runtimeDir, () => this.invalidate(), this.opts.log);
    await this.notices.start();
  }

  invalidate(): void {
    this.dirty = true;
  }

  /** The images as they are now on disk (rescanning first if anything changed). */
  async snapshot(): Promise<Map<string, Image>> {
    for (let i = 0; (this.dirty || this.scanning) && i < MAX_RESCANS_PER_QUERY; i++) {
      if (!this.scanning) {
        this.dirty = false;
        this.scanning = this.scan().finally(() => {
          this.scanning = null;
        });
      }
      await this.scanning;
    }
    return this.images;
  }

  /** The last scan's images, for callers that cannot wait (object tree enumeration). */
  cached(): Image[] {
    return [...this.images.values()];
  }

  /** GetImage and object look-ups: invalid names are simply not there. */
  async find(name: string): Promise<Image | undefined> {
    if (!imageNameIsValid(name)) return undefined;
    return (await this.snapshot()).get(name);
  }

  async get(name: string): Promise<Image> {
    const image = await this.find(name);
    if (!image) throw Errors.noSuchImage(name);
    return image;
  }

  private async scan(): Promise<void> {
    try {
      const { images, present } = await discoverImages(this.opts.searchPath, this.opts.log);
      this.images = images;
      this.watch(present);
    } catch (e) {
      this.opts.log.warning(`Scanning the image pool failed: ${(e as Error).message}`);
      this.dirty = true;
    }
  }

  private watch(present: string[]): void {
    if (this.closed) return;
    for (const [dir, w] of this.watchers) {
      if (!present.includes(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of present) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.invalidate());
        w.on('error', () => {
          w.close();
          this.watchers.delete(dir);
          this.invalidate();
        });
        this.watchers.set(dir, w);
      } catch (e) {
        this.opts.log.debug(`Cannot watch ${dir}: ${(e as Error).message}`);
      }
    }
    const missing = this.opts.searchPath.some((d) => !this.watchers.has(d));
    if (missing && !this.recheck) {
      this.recheck = setInterval(() => this.invalidate(), MISSING_DIR_RECHECK_MS);
      this.recheck.unref();
    } else if (!missing && this.recheck) {
      clearInterval(this.recheck);
      this.recheck = null;
    }
  }

  // ---- policy shared by the mutating calls ----

  /** LimitsExceeded when OPERATIONS_MAX slow operations are under way. */
  checkOperationSlot(): void {
    this.slots.check();
  }

  /** A slow operation, counted against OPERATIONS_MAX while it runs; the pool is rescanned after. */
  private async operation<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.slots.run(fn);
    } finally {
      this.invalidate();
    }
  }

  private refuseChange(image: Image, opts: { inUse?: boolean; readOnly?: boolean } = {}): void {
    if (imageIsHost(image) || image.vendor) throw Errors.imageReadOnly(image.name);
    if (opts.readOnly !== false && image.readOnly) throw Errors.imageReadOnly(image.name);
    if (opts.inUse !== false) {
      const machine = this.inUse(image);
      if (machine) throw Errors.imageInUse(image.name, machine);
    }
  }

  private inUse(image: Image): string | undefined {
    const path = resolve(image.path);
    for (const m of this.opts.machines()) {
      if (m.rootDirectory !== '' && m.name !== HOST_MACHINE_NAME && resolve(m.rootDirectory) === path) return m.name;
    }
    return undefined;
  }

  async remove(image: Image): Promise<void> {
    this.refuseChange(image);
    await this.operation(() => removeImageFiles(image));
  }

  async rename(image: Image, newName: string): Promise<void> {
    if (!imageNameIsValid(newName)) throw Errors.invalidImageName(newName);
    this.refuseChange(image);
    if ((await this.snapshot()).has(newName)) throw Errors.imageExists(newName);
    try {
      await renameImageFiles(image, newName);
    } finally {
      this.invalidate();
    }
  }

  async clone(image: Image, newName: string, readOnly: boolean): Promise<void> {
    if (!imageNameIsValid(newName)) throw Errors.invalidImageName(newName);
    // A copy of `/` would include the pool itself, and every other file system mounted below it.
    if (imageIsHost(image)) throw Errors.notSupported('Cloning the host (.host) is not supported.');
    if ((await this.snapshot()).has(newName)) throw Errors.imageExists(newName);
    await this.operation(() => cloneImageFiles(image, this.opts.poolPath, newName, readOnly));
  }

  async markReadOnly(image: Image, readOnly: boolean): Promise<void> {
    // Toggling the mark itself is allowed on a read-only image, and on an image in use (as upstream).
    this.refuseChange(image, { readOnly: false, inUse: false });
    try {
      await markImageFilesReadOnly(image, readOnly);
    } finally {
      this.invalidate();
    }
  }

  /**
   * SetImageLimit, as upstream's image_set_limit: only subvolumes have quota groups; the limit goes
   * on the image's subtree qgroup. Quota is not switched on here (systemd#18421): with quota off
   * the call fails as upstream's does (ENOTCONN), with a message saying how to switch it on.
   */
  async setLimit(image: Image, limit: bigint): Promise<[]> {
    // As upstream: a limit may be set on a read-only image or one in use, not on the host or vendor ones.
    this.refuseChange(image, { inUse: false, readOnly: false });
    if (image.type !== 'subvolume') throw Errors.quotaOnlyOnBtrfs();
    try {
      await setSubtreeLimit(await realpath(image.path), limit);
    } catch (e) {
      const errno = (e as BtrfsError).errno;
      if (errno === 'ENOTCONN') throw Errors.quotaNotEnabled(image.name);
      throw Errors.fromErrno(errno ?? 'EIO', `Failed to set limit of image '${image.name}': ${(e as Error).message}`);
    } finally {
      this.invalidate();
    }
    return [];
  }

  /**
   * SetPoolLimit, as upstream 252 (setup_machine_directory with quota, then image_set_pool_limit):
   * on btrfs the pool directory is made a subvolume if it does not exist yet, quota is enabled
   * (the user asked for a limit: systemd#18421 is about quota switched on without asking), the
   * pool gets its subtree qgroup and the limit goes on it. Elsewhere NotSupported.
   */
  async setPoolLimit(limit: bigint): Promise<[]> {
    const pool = this.opts.poolPath;
    const present = await lstat(pool).then(
      () => true,
      () => false,
    );
    if (!(await isBtrfs(present ? pool : dirname(pool)))) throw Errors.quotaOnlyOnBtrfs();
    try {
      if (!present) await createSubvolume(pool);
      if (!(await readQgroups(pool))) {
        await enableQuota(pool).catch((e: Error) => this.opts.log.warning(`Failed to enable quota for ${pool}, ignoring: ${e.message}`));
      }
      await autoQgroup(pool).catch((e: Error) =>
        this.opts.log.warning(`Failed to set up default quota hierarchy for ${pool}, ignoring: ${e.message}`),
      );
      await setSubtreeLimit(pool, limit);
    } catch (e) {
      throw Errors.quotaLimitFailed((e as BtrfsError).errno ?? 'EIO', (e as Error).message);
    } finally {
      this.invalidate();
    }
    return [];
  }

  /** Removes hidden (or all) images that may be removed; returns (name, exclusive bytes freed). */
  async clean(mode: CleanMode): Promise<Array<[string, bigint]>> {
    return this.operation(async () => {
      const removed: Array<[string, bigint]> = [];
      for (const image of (await this.snapshot()).values()) {
        if (imageIsHost(image) || image.vendor || image.readOnly) continue;
        if (mode === 'hidden' && !imageIsHidden(image)) continue;
        if (this.inUse(image)) {
          this.opts.log.debug(`Keeping image '${image.name}': it is in use.`);
          continue;
        }
        // The listing may be a moment old: an image someone removed meanwhile is simply gone.
        if ((await lstat(image.path).catch(() => null)) === null) continue;
        await removeImageFiles(image);
        removed.push([image.name, image.usageExclusive]);
      }
      return removed;
    });
  }

  metadata(image: Image): Promise<ImageMetadata> {
    const read = () =>
      readImageMetadata(image).catch((e: Error) => {
        throw Errors.imageMetadata(e.message);
      });
    if (image.type === 'directory' || image.type === 'subvolume') return read();
    let p = this.metadataCache.get(image);
    if (!p) {
      p = read();
      this.metadataCache.set(image, p);
      p.catch(() => this.metadataCache.delete(image));
    }
    return p;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.recheck) clearInterval(this.recheck);
    await this.notices?.close();
  }
}
