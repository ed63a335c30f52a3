/**
 * PullTar and PullRaw as transfer work. Verification data comes first (SHA256SUMS beside the
 * image, and its signature for `signature`), so that a pull that cannot be verified fails before
 * downloading anything big. The image is then unpacked while it downloads and hashed on the way;
 * it is installed only when the whole download matched its SHA256SUMS line.
 */
import type { VerifyMode } from '@machined/protocol';
import { byteSource } from '../image/byte-source.js';
import { detectCompression, MAGIC_BYTES_NEEDED } from '../image/compression.js';
import { removeTree } from '../image/pool.js';
import { unpackRaw, unpackTar } from '../image/unpack.js';
import { verifySignature } from '../pull/gpg-verify.js';
import { httpGet, httpGetSmall } from '../pull/http-get.js';
import { expectedDigest, Sha256SumsError } from '../pull/sha256sums.js';
import { urlFileName } from '../transfer/local-name.js';
import { LOG_INFO, TransferError, type TransferWork } from '../transfer/transfer.js';
import { formatBytes, progressReporter, type JobContext } from './job-context.js';

export interface PullArgs {
  url: string;
  local: string;
  verify: VerifyMode;
  force: boolean;
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
  return async (t, signal) => {
    await ctx.pool.checkFree(args.local, args.force);
    t.log(LOG_INFO, `Pulling '${args.url}', saving as '${args.local}'.`);
    const expected = args.verify === 'no' ? null : await expectedSha256(ctx, args.url, args.verify, signal, (l) => t.log(LOG_INFO, l));

    const res = await httpGet(args.url, { signal, idleTimeoutMs: ctx.httpIdleTimeoutMs });
    if (res.length !== null) t.log(LOG_INFO, `Downloading ${formatBytes(res.length)} for ${args.url}.`);
    const src = await byteSource(res.body, MAGIC_BYTES_NEEDED, progressReporter(t, 'Got', res.length, args.url));
    const compression = detectCompression(src.head);
    let temp: string | null = null;
    try {
      temp = kind === 'tar' ? await ctx.pool.createTempDir(args.local) : ctx.pool.tempRawPath(args.local);
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
      if (kind === 'tar') {
        const root = await ctx.pool.osRoot(temp);
        await ctx.pool.install(root, temp, args.local, 'directory', { force: args.force, readOnly: false });
      } else {
        await ctx.pool.install(temp, temp, args.local, 'raw', { force: args.force, readOnly: false });
      }
    } catch (e) {
      src.destroy();
      if (temp) await removeTree(temp).catch(() => undefined);
      throw e;
    }
    ctx.notifier.changed(args.local);
  };
}
