/** ExportTar and ExportRaw as transfer work: the image to the client's fd, then the fd closed. */
import type { ExportFormat } from '@machined/protocol';
import { closeQuietly } from '../image/byte-source.js';
import { exportImage } from '../image/export.js';
import { LOG_INFO, TransferError, type TransferWork } from '../transfer/transfer.js';
import type { JobContext } from './job-context.js';

export interface ExportArgs {
  local: string;
  fd: number;
  format: ExportFormat;
}

export function exportWork(ctx: JobContext, kind: 'tar' | 'raw', args: ExportArgs): TransferWork {
  return async (t, signal) => {
    try {
      const image = await ctx.pool.find(args.local);
      if (!image) throw new TransferError(`Failed to find image '${args.local}'.`);
      if (kind === 'tar' && image.kind !== 'directory') throw new TransferError(`Image '${args.local}' is a raw image; use export-raw for it.`);
      if (kind === 'raw' && image.kind !== 'raw') throw new TransferError(`Image '${args.local}' is a directory image; use export-tar for it.`);
      t.log(LOG_INFO, `Exporting '${image.path}' as ${args.format === 'uncompressed' ? 'uncompressed' : `${args.format}-compressed`} ${kind}.`);
      await exportImage(image, args.format, args.fd, signal, (f) => t.setProgress(f));
    } finally {
      closeQuietly(args.fd);
    }
  };
}
