/**
 * GET over http and https with what a download of an image needs: redirects followed (at most
 * 10, relative ones too), a time limit on silence rather than on the whole download, cancel
 * through an AbortSignal, and one clear sentence for every HTTP status and network failure.
 * `file:` URLs are read from the local file system, as upstream's curl-based pull does (252's
 * importd accepts them: file_url_is_valid).
 */
import { promises as fs } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { TransferError } from '../transfer/transfer.js';

export interface HttpGetOptions {
  signal: AbortSignal;
  /** Fail when nothing arrives for this long (connect, headers or body); default 30 s. */
  idleTimeoutMs?: number;
  maxRedirects?: number;
}

export interface HttpResponse {
  url: string;
  body: Readable;
  /** Content-Length, when the server sent one (the size, for a file). */
  length: number | null;
  /** The ETag header, when the server sent one: part of a kept download's name. */
  etag: string | null;
}

const USER_AGENT = 'importd (machined; systemd-importd compatible)';

function networkError(url: string, e: NodeJS.ErrnoException): TransferError {
  if (e instanceof TransferError) return e;
  const code = e.code ? ` (${e.code})` : '';
  return new TransferError(`Failed to retrieve ${url}: ${e.message}${code}`);
}

function getOnce(url: string, opts: HttpGetOptions): Promise<IncomingMessage> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  const idle = opts.idleTimeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const req = mod.get(u, { signal: opts.signal, headers: { 'user-agent': USER_AGENT, accept: '*/*' } }, resolve);
    req.setTimeout(idle, () => req.destroy(new TransferError(`Failed to retrieve ${url}: no data for ${Math.round(idle / 1000)} s, giving up.`)));
    req.once('error', (e: NodeJS.ErrnoException) => {
      if (opts.signal.aborted) reject(opts.signal.reason);
      else reject(networkError(url, e));
    });
  });
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
};

async function fileGet(url: string, opts: HttpGetOptions): Promise<HttpResponse> {
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch (e) {
    throw new TransferError(`Failed to retrieve ${url}: ${(e as Error).message}`);
  }
  let fh;
  try {
    fh = await fs.open(path, 'r');
    const st = await fh.stat();
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    // The stream owns the handle from here and closes it (the handle itself, not its number).
    const body = fh.createReadStream({ autoClose: true, highWaterMark: 1 << 20 });
    const stop = () => body.destroy();
    opts.signal.addEventListener('abort', stop, { once: true });
    body.once('close', () => opts.signal.removeEventListener('abort', stop));
    return { url, body, length: st.isFile() ? st.size : null, etag: null };
  } catch (e) {
    await fh?.close().catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new TransferError(`Failed to retrieve ${url}: ${ERRNO_TEXT[code] ?? (e as Error).message}${code ? ` (${code})` : ''}.`);
  }
}

export async function httpGet(url: string, opts: HttpGetOptions): Promise<HttpResponse> {
  if (url.startsWith('file:')) return fileGet(url, opts);
  const max = opts.maxRedirects ?? 10;
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await getOnce(current, opts);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hop >= max) throw new TransferError(`Failed to retrieve ${url}: more than ${max} redirects.`);
      const next = new URL(res.headers.location, current);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new TransferError(`Failed to retrieve ${url}: redirected to unsupported URL ${next.href}.`);
      }
      current = next.href;
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new TransferError(`HTTP request to ${current} failed with code ${status} (${STATUS_CODES[status] ?? 'unknown status'}).`);
    }
    const len = Number(res.headers['content-length']);
    const etag = res.headers.etag ?? null;
    return { url: current, body: res, length: Number.isFinite(len) && res.headers['content-length'] !== undefined ? len : null, etag };
  }
}

/** A small document (SHA256SUMS, its signature) read whole, refusing anything over `limit` bytes. */
export async function httpGetSmall(url: string, opts: HttpGetOptions, limit = 4 << 20): Promise<Buffer> {
  const res = await httpGet(url, opts);
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > limit) {
        res.body.destroy();
        throw new TransferError(`${url} is larger than ${limit} bytes, refusing it.`);
      }
      parts.push(c);
    }
  } catch (e) {
    throw networkError(url, e as NodeJS.ErrnoException);
  }
  const body = Buffer.concat(parts);
  if (res.length !== null && body.length !== res.length) {
    throw new TransferError(`Failed to retrieve ${url}: connection closed after ${body.length} of ${res.length} bytes.`);
  }
  return body;
}
