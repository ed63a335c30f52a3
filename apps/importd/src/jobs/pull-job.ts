/**
 * PullTar and PullRaw as transfer work. Verification data comes first (SHA256SUMS beside the
 * image, and its signature for `signature`), so that a pull that cannot be verified fails before
 * downloading anything big. The image is then unpacked while it downloads and hashed on the way;
 * it is installed only when the whole download matched its SHA256SUMS line. A raw image that is
 * qcow2 is converted to raw after verification.
 *
 * With keep_download (PullTarEx/PullRawEx flag, or no local name at all, which 252's machinectl
 * sends for `pull-tar URL -`), the verified download is also kept as a hidden read-only image
 * named after the URL and ETag (`.tar-URL.ETAG`, `.raw-URL.ETAG.raw`), and the local image is a
 * copy of it (a reflink where the file system can).
 */
import { promises as fs } from 'node:fs';
import type { VerifyMode } from '@machined/protocol';
import { byteSource } from '../image/byte-source.js';
import { detectCompression, MAGIC_BYTES_NEEDED } from '../image/compression.js';
import { startTool } from '../image/child.js';
import { removeTree } from '../image/pool.js';
import { convertIfQcow2, unpackRaw, unpackTar } from '../image/unpack.js';
import { keptDownloadName } from '../pull/download-name.js';
import { verifySignature } from '../pull/gpg-verify.js';
import { httpGet, httpGetSmall } from '../pull/http-get.js';
import { expectedDigest, Sha256SumsError } from '../pull/sha256sums.js';
import { urlFileName } from '../transfer/local-name.js';
import { LOG_INFO, TransferError, type TransferWork } from '../transfer/transfer.js';
import { formatBytes, progressReporter, type JobContext } from './job-context.js';

export interface PullArgs {
  url: string;
  /** '' = keep only the download. */
  local: string;
  verify: VerifyMode;
  force: boolean;
  readOnly: boolean;
  keepDownload: boolean;
}

async function expectedSha256(ctx: JobContext, url: string, verify: VerifyMode, signal: AbortSignal, log: (l: string) => void): Promise<string> {
  const sumsUrl = new URL('SHA256SUMS', url).href;
  let sums: Buffer;
  try {
    sums = await httpGetSmall(sumsUrl, { signal, idleTimeoutMs: ctx.httpIdleTimeoutMs });
  } catch (e) {
    throw new TransferError(`Failed to retrieve SHA256SUMS for ${url}: ${(e as Error).message}`);
  }
  if (verify === 'signature') {
    const sigUrl = new URL('SHA256SUMS.gpg', url).href;
    let sig: Buffer;
    try {
      sig = await httpGetSmall(sigUrl, { signal, idleTimeoutMs: ctx.httpIdleTimeoutMs });
    } catch (e) {
      throw new TransferError(`Failed to retrieve SHA256SUMS.gpg for ${url}: ${(e as Error).message}`);
    }
    const keyring = await verifySignature(sums, sig, ctx.keyrings);
    log(`Signature of SHA256SUMS is valid (keyring ${keyring}).`);
  }
  try {
    return expectedDigest(sums.toString('utf8'), urlFileName(url));
  } catch (e) {
    if (e instanceof Sha256SumsError) throw new TransferError(`Cannot verify ${url}: ${e.message}.`);
    throw e;
  }
}

export function pullWork(ctx: JobContext, kind: 'tar' | 'raw', args: PullArgs): TransferWork {
  const keep = args.keepDownload || args.local === '';
  return async (t, signal) => {
    if (args.local) await ctx.pool.checkFree(args.local, args.force);
    t.log(LOG_INFO, args.local ? `Pulling '${args.url}', saving as '${args.local}'.` : `Pulling '${args.url}'.`);
    const expected = args.verify === 'no' ? null : await expectedSha256(ctx, args.url, args.verify, signal, (l) => t.log(LOG_INFO, l));

    const res = await httpGet(args.url, { signal, idleTimeoutMs: ctx.httpIdleTimeoutMs });
    if (res.length !== null) t.log(LOG_INFO, `Downloading ${formatBytes(res.length)} for ${args.url}.`);
    const src = await byteSource(res.body, MAGIC_BYTES_NEEDED, progressReporter(t, 'Got', res.length, args.url), { hash: expected !== null });
    const compression = detectCompression(src.head);
    let temp: string | null = null;
    let copy: string | null = null;
    const changed: string[] = [];
    try {
      temp = kind === 'tar' ? await ctx.pool.createTempDir(args.local || 'download') : ctx.pool.tempRawPath(args.local || 'download');
      try {
        if (kind === 'tar') await unpackTar(src, compression, temp, signal);
        else await unpackRaw(src, compression, temp, signal);
      } catch (e) {
        // A broken connection explains a failed unpack better than the unpacker's complaint.
        if (src.sourceError instanceof TransferError) throw src.sourceError;
        if (src.sourceError && !signal.aborted) {
          throw new TransferError(`Download of ${args.url} failed: connection closed after ${src.count}${res.length !== null ? ` of ${res.length}` : ''} bytes.`);
        }
        throw e;
      }
      if (res.length !== null && src.count !== res.length) {
        throw new TransferError(`Download of ${args.url} failed: got ${src.count} of ${res.length} bytes.`);
      }
      t.log(LOG_INFO, `Download of ${args.url} complete.`);
      if (expected !== null) {
        const got = src.digest();
        if (got !== expected) throw new TransferError(`SHA256 checksum of ${args.url} does not match: expected ${expected}, got ${got}.`);
        t.log(LOG_INFO, `SHA256 checksum of ${args.url} is valid.`);
      }
      if (kind === 'raw') temp = await convertIfQcow2(temp, () => ctx.pool.tempRawPath(args.local || 'download'), signal, (l) => t.log(LOG_INFO, l));
      const imageKind = kind === 'tar' ? 'directory' : 'raw';
      const root = kind === 'tar' ? await ctx.pool.osRoot(temp) : temp;
      if (!keep) {
        await ctx.pool.install(root, temp, args.local, imageKind, { force: args.force, readOnly: args.readOnly });
        changed.push(args.local);
      } else {
        // The pristine download, read-only, replacing an older download of the same URL and ETag.
        const hidden = keptDownloadName(kind, args.url, res.etag, ctx.pool.path);
        const kept = await ctx.pool.install(root, temp, hidden, imageKind, { force: true, readOnly: true });
        temp = null;
        changed.push(hidden);
        t.log(LOG_INFO, `Stored download as hidden image '${hidden}'.`);
        if (args.local) {
          copy = kind === 'tar' ? await ctx.pool.createTempDir(args.local) : ctx.pool.tempRawPath(args.local);
          await copyImage(kept, copy, kind, signal);
          await ctx.pool.install(copy, copy, args.local, imageKind, { force: args.force, readOnly: args.readOnly });
          copy = null;
          changed.push(args.local);
          t.log(LOG_INFO, `Created new local image '${args.local}'.`);
        }
      }
    } catch (e) {
      src.destroy();
      if (temp) await removeTree(temp).catch(() => undefined);
      if (copy) await removeTree(copy).catch(() => undefined);
      for (const name of changed) ctx.notifier.changed(name);
      throw e;
    }
    for (const name of changed) ctx.notifier.changed(name);
  };
}

/** A writable copy of the kept download: everything cp -a keeps, shared extents where possible. */
async function copyImage(from: string, to: string, kind: 'tar' | 'raw', signal: AbortSignal): Promise<void> {
  const args =
    kind === 'tar'
      ? ['-a', '--reflink=auto', '--no-target-directory', `${from}/.`, to]
      : ['--reflink=auto', '--sparse=always', '--preserve=timestamps', '--no-target-directory', from, to];
  await startTool('cp', args, ['ignore', 'ignore', 'pipe'], signal).done;
  // The kept download has no write bits; the local image is the writable one.
  if (kind === 'raw') await fs.chmod(to, 0o644);
}
