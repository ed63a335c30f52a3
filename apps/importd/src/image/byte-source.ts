/**
 * The bytes of an image as they arrive (from a client's fd or an HTTP response): a look at the
 * first bytes to detect the format, then every chunk exactly once, counted for progress and
 * hashed for verification while it flows to the tools that unpack it.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, fstatSync, closeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { TransferError } from '../transfer/transfer.js';

export interface ByteSource {
  /** At least `n` first bytes (fewer only when the stream is shorter). */
  head: Buffer;
  /** Every byte of the stream, head included, in order. */
  chunks: AsyncIterable<Buffer>;
  /** Bytes delivered so far. */
  readonly count: number;
  /** Lowercase hex SHA-256 of everything delivered; valid once `chunks` is exhausted, when hashing was asked for. */
  digest(): string;
  /** Why the source itself broke off (a reset connection), as opposed to being stopped by us. */
  readonly sourceError: Error | null;
  destroy(): void;
}

/**
 * Wraps a readable stream; `onChunk` sees the running count after each chunk. Hashing costs
 * about as much as tar itself on an uncompressed image, so it is done only when a digest will be
 * compared (`hash`).
 */
export async function byteSource(stream: Readable, headBytes: number, onChunk: (count: number) => void, options: { hash?: boolean } = {}): Promise<ByteSource> {
  const hashing = options.hash ?? true;
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const pending: Buffer[] = [];
  let headLen = 0;
  while (headLen < headBytes) {
    const r = await it.next();
    if (r.done) break;
    pending.push(r.value);
    headLen += r.value.length;
  }
  const hash: Hash | null = hashing ? createHash('sha256') : null;
  let count = 0;
  const take = (c: Buffer): Buffer => {
    count += c.length;
    hash?.update(c);
    onChunk(count);
    return c;
  };
  let hex: string | null = null;
  let sourceError: Error | null = null;
  let stopped = false;
  const chunks = (async function* () {
    for (const c of pending) yield take(c);
    pending.length = 0;
    for (;;) {
      let r;
      try {
        r = await it.next();
      } catch (e) {
        if (!stopped) sourceError = e as Error;
        throw e;
      }
      if (r.done) break;
      yield take(r.value);
    }
    hex = hash ? hash.digest('hex') : null;
  })();
  return {
    head: Buffer.concat(pending),
    chunks,
    get count() {
      return count;
    },
    digest() {
      if (hex === null) throw new Error(hashing ? 'digest asked before the stream ended' : 'digest asked of a source that does not hash');
      return hex;
    },
    get sourceError() {
      return sourceError;
    },
    destroy: () => {
      stopped = true;
      stream.destroy();
    },
  };
}

export interface FdInput {
  stream: Readable;
  /** Size in bytes when the fd is a regular file (progress is then a real fraction). */
  size: number | null;
}

/**
 * A stream reading a client's fd, which it then owns and closes. Pipes and sockets are read
 * without blocking (a cancel must not wait for a writer that never writes); regular files from
 * their current offset, as upstream's workers read stdin.
 */
export function fdInput(fd: number): FdInput {
  let st;
  try {
    st = fstatSync(fd);
  } catch (e) {
    closeQuietly(fd);
    throw new TransferError(`Cannot read the passed file descriptor: ${(e as Error).message}`);
  }
  if (st.isFIFO() || st.isSocket()) return { stream: new Socket({ fd, readable: true, writable: false }), size: null };
  return { stream: createReadStream('', { fd, autoClose: true, highWaterMark: 1 << 20 }), size: st.isFile() ? st.size : null };
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
