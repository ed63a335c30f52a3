/**
 * Export: an image of the pool written to a client's fd, as a tar of the directory tree (numeric
 * ownership, xattrs, ACLs, device nodes, hard links) or the raw file, compressed as asked. The
 * bytes pass through us only to be counted against the image's size for progress.
 */
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { ExportFormat } from '@machined/protocol';
import { TransferError } from '../transfer/transfer.js';
import { byteSource } from './byte-source.js';
import { pump, startTool, toolCommand, type Tool } from './child.js';
import { compressCommand } from './compression.js';
import type { PoolImage } from './pool.js';

const execFileAsync = promisify(execFile);

export const TAR_CREATE_ARGS = ['--create', '--file=-', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', '--sparse', '.'];

/** Apparent size of a tree in bytes (what tar will roughly write), or null if du fails. */
async function treeSize(path: string): Promise<number | null> {
  try {
    const { stdout } = await execFileAsync(...toolCommand('du', ['-s', '--apparent-size', '--block-size=1', '--', path]));
    const n = Number(stdout.split('\t')[0]);
    return Number.isFinite(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

export async function exportImage(
  image: PoolImage,
  format: ExportFormat,
  outFd: number,
  signal: AbortSignal,
  onProgress: (fraction: number) => void,
): Promise<void> {
  const comp = compressCommand(format);
  // The compressor (or, uncompressed, our own pump) writes straight into the client's fd.
  let compressor: Tool | null = null;
  let sink: Writable;
  if (comp) {
    compressor = startTool(comp[0], comp[1], ['pipe', outFd, 'pipe'], signal);
    sink = compressor.child.stdin!;
  } else {
    sink = createWriteStream('', { fd: outFd, autoClose: false });
  }
  // Uncompressed, a failed write (the client went away) shows only on our own stream.
  const sinkDone = comp
    ? null
    : new Promise<void>((resolve, reject) => {
        sink.once('error', (e) => reject(new TransferError(`Failed to write the export: ${e.message}`)));
        sink.once('close', resolve);
        sink.once('finish', resolve);
      });
  sinkDone?.catch(() => undefined);

  let total: number | null;
  let producer: Tool | null = null;
  let input;
  if (image.kind === 'raw') {
    input = createReadStream(image.path, { highWaterMark: 1 << 20 });
    total = (await fs.stat(image.path)).size;
  } else {
    total = await treeSize(image.path);
    producer = startTool('tar', TAR_CREATE_ARGS, ['ignore', 'pipe', 'pipe'], signal, { cwd: image.path });
    input = producer.child.stdout!;
  }
  const src = await byteSource(input, 0, (n) => {
    if (total) onProgress(Math.min(0.99, n / total));
  });
  const feed = pump(src.chunks, sink, signal);
  feed.catch(() => [producer, compressor].forEach((t) => t?.kill()));
  const results = await Promise.allSettled([
    feed,
    ...(producer ? [producer.done] : []),
    ...(compressor ? [compressor.done] : [sinkDone!]),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
