/**
 * The org.freedesktop.machine1.Image interface of one image object, and the handlers that the
 * Manager's by-name image methods share with it. Handlers check arguments, then authorization
 * (manage-images), then hand over to the ImagePool, which holds the policy and does the work.
 */
import {
  Errors,
  IMAGE_INTERFACE,
  Machine1Actions,
  UINT64_MAX,
  imageNameIsValid,
  type Authorizer,
  type CallContext,
  type ServedInterface,
} from '@machined/protocol';
import type { Image } from '../images/image.js';
import type { ImagePool } from '../images/pool.js';

export interface ImageBusDeps {
  pool: ImagePool;
  authorizer: Authorizer;
}

const INT64_MAX = 0x7fff_ffff_ffff_ffffn;

/** FILE_SIZE_VALID_OR_INFINITY: a file size (≤ INT64_MAX) or UINT64_MAX. */
export function limitIsValid(limit: bigint | number): boolean {
  const l = BigInt(limit);
  return l === UINT64_MAX || (l >= 0n && l <= INT64_MAX);
}

export function imageHandlers({ pool, authorizer }: ImageBusDeps) {
  const manage = (ctx: CallContext, image: Image, verb: string, extra: Record<string, string> = {}) =>
    authorizer.authorize(ctx, Machine1Actions.manageImages, { image: image.name, verb, ...extra });

  return {
    async Remove(ctx: CallContext, image: Image): Promise<unknown[]> {
      pool.checkOperationSlot();
      await manage(ctx, image, 'remove');
      await pool.remove(image);
      return [];
    },
    async Rename(ctx: CallContext, image: Image, newName: string): Promise<unknown[]> {
      if (!imageNameIsValid(newName)) throw Errors.invalidImageName(newName);
      await manage(ctx, image, 'rename', { new_name: newName });
      await pool.rename(image, newName);
      return [];
    },
    async Clone(ctx: CallContext, image: Image, newName: string, readOnly: boolean): Promise<unknown[]> {
      pool.checkOperationSlot();
      if (!imageNameIsValid(newName)) throw Errors.invalidImageName(newName);
      await manage(ctx, image, 'clone', { new_name: newName, read_only: readOnly ? '1' : '0' });
      await pool.clone(image, newName, readOnly);
      return [];
    },
    async MarkReadOnly(ctx: CallContext, image: Image, readOnly: boolean): Promise<unknown[]> {
      await manage(ctx, image, 'mark_read_only', { read_only: readOnly ? '1' : '0' });
      await pool.markReadOnly(image, readOnly);
      return [];
    },
    async SetLimit(ctx: CallContext, image: Image, limit: bigint): Promise<unknown[]> {
      if (!limitIsValid(limit)) throw Errors.limitOutOfRange();
      await manage(ctx, image, 'set_limit');
      return pool.setLimit(image, limit);
    },
    async GetHostname(_ctx: CallContext, image: Image): Promise<unknown[]> {
      return [(await pool.metadata(image)).hostname];
    },
    async GetMachineID(_ctx: CallContext, image: Image): Promise<unknown[]> {
      return [(await pool.metadata(image)).machineId];
    },
    async GetMachineInfo(_ctx: CallContext, image: Image): Promise<unknown[]> {
      return [Object.fromEntries((await pool.metadata(image)).machineInfo)];
    },
    async GetOSRelease(_ctx: CallContext, image: Image): Promise<unknown[]> {
      return [Object.fromEntries((await pool.metadata(image)).osRelease)];
    },
  };
}

export type ImageHandlers = ReturnType<typeof imageHandlers>;

export function imageInterface(image: Image, handlers: ImageHandlers): ServedInterface {
  return {
    spec: IMAGE_INTERFACE,
    methods: {
      Remove: (ctx) => handlers.Remove(ctx, image),
      Rename: (ctx, newName: string) => handlers.Rename(ctx, image, newName),
      Clone: (ctx, newName: string, readOnly: boolean) => handlers.Clone(ctx, image, newName, readOnly),
      MarkReadOnly: (ctx, readOnly: boolean) => handlers.MarkReadOnly(ctx, image, readOnly),
      SetLimit: (ctx, limit: bigint) => handlers.SetLimit(ctx, image, limit),
      GetHostname: (ctx) => handlers.GetHostname(ctx, image),
      GetMachineID: (ctx) => handlers.GetMachineID(ctx, image),
      GetMachineInfo: (ctx) => handlers.GetMachineInfo(ctx, image),
      GetOSRelease: (ctx) => handlers.GetOSRelease(ctx, image),
    },
    properties: {
      Name: () => image.name,
      Path: () => image.path,
      Type: () => image.type,
      ReadOnly: () => image.readOnly,
      CreationTimestamp: () => image.crtime,
      ModificationTimestamp: () => image.mtime,
      Usage: () => image.usage,
      Limit: () => image.limit,
      UsageExclusive: () => image.usageExclusive,
      LimitExclusive: () => image.limitExclusive,
    },
  };
}
