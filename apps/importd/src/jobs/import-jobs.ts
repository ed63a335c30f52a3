/**
 * ImportTar, ImportRaw and ImportFileSystem as transfer work: read the client's fd into a
 * temporary in the pool, then install it under the local name. The fd belongs to the job from
 * the moment the method accepted it, and is closed however the job ends.
 */
import { byteSource, closeQuietly, fdInput } from '../image/byte-source.js';
import { startTool } from '../image/child.js';
import { detectCompression, MAGIC_BYTES_NEEDED } from '../image/compression.js';
import { removeTree } from '../image/pool.js';
import { convertIfQcow2, unpackRaw, unpackTar } from '../image/unpack.js';
import { LOG_INFO, TransferError, type TransferWork } from '../transfer/transfer.js';
import { progressReporter, type JobContext } from './job-context.js';

export interface ImportArgs {
  fd: number;
  local: string;
  force: boolean;
  readOnly: boolean;
}

export function importWork(ctx: JobContext, kind: 'tar' | 'raw', args: ImportArgs): TransferWork {
  return async (t, signal) => {
    try {
      await ctx.pool.checkFree(args.local, args.force);
    } catch (e) {
      closeQuietly(args.fd);
      throw e;
    }
    // From here the stream owns the fd and closes it.
    const input = fdInput(args.fd);
    const stopInput = () => input.stream.destroy();
    signal.addEventListener('abort', stopInput, { once: true });
    const src = await byteSource(input.stream, MAGIC_BYTES_NEEDED, progressReporter(t, 'Imported', input.size), { hash: false });
    const compression = detectCompression(src.head);
    t.log(LOG_INFO, `Importing ${compression === 'uncompressed' ? 'uncompressed' : `${compression}-compressed`} ${kind} image, saving as '${args.local}'.`);
    let temp: string | null = null;
    try {
      temp = kind === 'tar' ? await ctx.pool.createTempDir(args.local) : ctx.pool.tempRawPath(args.local);
      if (kind === 'tar') {
        await unpackTar(src, compression, temp, signal);
        if (src.count === 0) throw new TransferError('The archive is empty.');
        const root = await ctx.pool.osRoot(temp);
        if (root !== temp) t.log(LOG_INFO, `Using the single top-level directory '${root.slice(temp.length + 1)}' as the image's root.`);
        await ctx.pool.install(root, temp, args.local, 'directory', args);
      } else {
        await unpackRaw(src, compression, temp, signal);
        temp = await convertIfQcow2(temp, () => ctx.pool.tempRawPath(args.local), signal, (l) => t.log(LOG_INFO, l));
        await ctx.pool.install(temp, temp, args.local, 'raw', args);
      }
    } catch (e) {
      src.destroy();
      if (temp) await removeTree(temp).catch(() => undefined);
      throw e;
    } finally {
      signal.removeEventListener('abort', stopInput);
    }
    ctx.notifier.changed(args.local);
  };
}

/** ImportFileSystem: a copy of the directory behind the fd, with everything cp -a keeps. */
export function importFsWork(ctx: JobContext, args: ImportArgs): TransferWork {
  return async (t, signal) => {
    let temp: string | null = null;
    let fdOpen = true;
    const closeFd = () => {
      if (fdOpen) closeQuietly(args.fd);
      fdOpen = false;
    };
    try {
      await ctx.pool.checkFree(args.local, args.force);
      temp = await ctx.pool.createTempDir(args.local);
      t.log(LOG_INFO, `Importing directory tree, saving as '${args.local}'.`);
      // cp sees the directory as its own fd 3, so no path lookup can be raced.
      const cp = startTool('cp', ['-a', '--reflink=auto', '--no-target-directory', '/proc/self/fd/3/.', temp], ['ignore', 'ignore', 'pipe', args.fd], signal);
      closeFd();
      await cp.done;
      await ctx.pool.install(temp, temp, args.local, 'directory', args);
    } catch (e) {
      closeFd();
      if (temp) await removeTree(temp).catch(() => undefined);
      throw e;
    }
    ctx.notifier.changed(args.local);
  };
}
