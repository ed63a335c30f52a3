/**
 * One image of the pool as upstream's discover-image.c describes it: where it lives, what kind of
 * file it is, and the figures machinectl shows. Numbers are bigint because they go out as D-Bus
 * `t`, where UINT64_MAX means "unknown".
 */
import { HOST_MACHINE_NAME, UINT64_MAX } from '@machined/protocol';

export type ImageType = 'directory' | 'subvolume' | 'raw' | 'block';

export interface Image {
  name: string;
  /** Absolute path of the directory, file or device node. */
  path: string;
  type: ImageType;
  readOnly: boolean;
  /** CLOCK_REALTIME µs; 0 when unknown. */
  crtime: bigint;
  mtime: bigint;
  usage: bigint;
  usageExclusive: bigint;
  limit: bigint;
  limitExclusive: bigint;
  /** Under /usr (upstream's "vendor" images): never changed, whatever the flags say. */
  vendor: boolean;
}

export const UNKNOWN = UINT64_MAX;

export function imageIsHost(i: Image): boolean {
  return i.name === HOST_MACHINE_NAME;
}

export function imageIsHidden(i: Image): boolean {
  return i.name.startsWith('.');
}

/** Where a clone is built before it is renamed into place. */
export const CLONE_PREFIX = '.#clone-';
/** What a directory image is renamed to while it is being deleted. */
export const REMOVE_PREFIX = '.#remove-';

/**
 * Our own work in progress, never listed as an image (so no partial clone ever shows). Other
 * hidden entries, importd's `.#…` temporaries included, are hidden images as upstream lists them,
 * which `machinectl clean` can remove.
 */
export function isOwnTemporary(entry: string): boolean {
  return entry.startsWith(CLONE_PREFIX) || entry.startsWith(REMOVE_PREFIX);
}
