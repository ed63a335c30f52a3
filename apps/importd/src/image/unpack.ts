/**
 * Unpacking a byte stream into a temporary in the pool: decompression (detected from the first
 * bytes) and then GNU tar for tar images, or a plain file for raw images.
 *
 * tar runs as root and keeps numeric ownership, modes, xattrs, ACLs, device nodes and hard links.
 * It must never write outside the target: GNU tar already refuses members with `..`, strips a
 * leading `/` from names and link targets, and creates symlinks that point outside as placeholders
 * until the end (so nothing is written through them). We go further and fail the whole import on
 * any of those (a hostile archive is not an image): our TarScanner refuses such members before
 * tar reads them, and tar's own diagnostics are watched as a second line of defence.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import type { Writable } from 'node:stream';
import { TransferError } from '../transfer/transfer.js';
import type { ByteSource } from './byte-source.js';
import { pump, startTool, type Tool } from './child.js';
import { decompressCommand, isQcow2, type Compression } from './compression.js';
import { convertQcow2 } from './qcow2.js';
import { HostileMemberError, TarScanner } from './tar-scanner.js';

export const TAR_EXTRACT_ARGS = [
  '--extract',
  '--file=-',
  '--numeric-owner',
  '--same-owner',
  '--preserve-permissions',
  '--xattrs',
  '--xattrs-include=*',
  '--acls',
  // Directories made read-only by the archive are made so only at the end, after their contents.
  '--delay-directory-restore',
  '--no-overwrite-dir',
];

/** tar's diagnostics that mean the archive tried to reach outside its root. */
const HOSTILE = [/Removing leading [`'].*[`'] from (member names|hard link targets)/, /Member name contains '\.\.'/, /contains a '\.\.'/i, /Cannot open: Not a directory/];

function decompressor(compression: Compression, signal: AbortSignal, stdout: 'pipe' | number): Tool | null {
  const cmd = decompressCommand(compression);
  return cmd ? startTool(cmd[0], cmd[1], ['pipe', stdout, 'pipe'], signal) : null;
}

async function runAll(feeds: Promise<void>[], tools: (Tool | null)[], onFailure: () => void = () => {}): Promise<void> {
  const running = tools.filter((t): t is Tool => t !== null);
  // Input that broke off (a reset connection, a hostile member) leaves the tools waiting for more: end them.
  for (const f of feeds) {
    f.catch(() => {
      running.forEach((t) => t.kill());
      onFailure();
    });
  }
  const results = await Promise.allSettled([...feeds, ...running.map((t) => t.done)]);
  // The inputs' failures explain best, then the first tool's (xz's "Unexpected end of input" before tar's complaint).
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function* scanned(chunks: AsyncIterable<Buffer>, scanner: TarScanner): AsyncIterable<Buffer> {
  for await (const c of chunks) {
    try {
      scanner.push(c);
    } catch (e) {
      if (e instanceof HostileMemberError) throw new TransferError(`Refusing hostile archive: ${e.message}`);
      throw e;
    }
    yield c;
  }
}

export async function unpackTar(src: ByteSource, compression: Compression, target: string, signal: AbortSignal): Promise<void> {
  const hostile: string[] = [];
  const scanner = new TarScanner();
  const dec = decompressor(compression, signal, 'pipe');
  const tar = startTool('tar', [...TAR_EXTRACT_ARGS, '--directory', target], ['pipe', 'ignore', 'pipe'], signal, {
    onStderrLine: (l) => {
      if (HOSTILE.some((re) => re.test(l))) hostile.push(l.replace(/^tar: /, ''));
    },
  });
  // Every member header passes our scanner before tar sees it: plain bytes from the source, or
  // the decompressor's output.
  const feeds = dec
    ? [pump(scanned(dec.child.stdout! as AsyncIterable<Buffer>, scanner), tar.child.stdin as Writable, signal), pump(src.chunks, dec.child.stdin as Writable, signal)]
    : [pump(scanned(src.chunks, scanner), tar.child.stdin as Writable, signal)];
  try {
    await runAll(feeds, [dec, tar], () => src.destroy());
  } catch (e) {
    if (hostile.length > 0 && !(e instanceof TransferError && e.message.startsWith('Refusing'))) {
      throw new TransferError(`Refusing hostile archive: ${hostile[0]}`);
    }
    throw e;
  }
  if (hostile.length > 0) throw new TransferError(`Refusing hostile archive: ${hostile[0]}`);
}

export async function unpackRaw(src: ByteSource, compression: Compression, target: string, signal: AbortSignal): Promise<void> {
  const file = await fs.open(target, 'wx+', 0o644);
  try {
    if (compression === 'uncompressed') {
      const out = createWriteStream('', { fd: file.fd, autoClose: false });
      const closed = new Promise<void>((resolve, reject) => {
        out.once('finish', resolve);
        out.once('error', (e) => reject(new TransferError(`Failed to write ${target}: ${e.message}`)));
      });
      closed.catch(() => undefined); // awaited below unless the input fails first
      await pump(src.chunks, out, signal);
      await closed;
    } else {
      const dec = decompressor(compression, signal, file.fd)!;
      await runAll([pump(src.chunks, dec.child.stdin as Writable, signal)], [dec], () => src.destroy());
    }
    await file.sync();
  } finally {
    await file.close();
  }
}

/**
 * A raw image that turned out to be qcow2 (by its magic, after decompression) becomes a real raw
 * image, as upstream's importers do (`Unpacking QCOW2 file.`): converted into a second temporary
 * from `nextTemp`, the first one removed. Returns the path that now holds the raw image; on
 * failure both temporaries are gone and the error says why.
 */
export async function convertIfQcow2(temp: string, nextTemp: () => string, signal: AbortSignal, log: (line: string) => void): Promise<string> {
  const src = await fs.open(temp, 'r');
  let out: string | null = null;
  try {
    const head = Buffer.alloc(4);
    await src.read(head, 0, 4, 0);
    if (!isQcow2(head)) return temp;
    log('Unpacking QCOW2 file.');
    out = nextTemp();
    const dst = await fs.open(out, 'wx', 0o644);
    try {
      await convertQcow2(src, dst, { signal });
      await dst.sync();
    } finally {
      await dst.close();
    }
  } catch (e) {
    if (out) await fs.rm(out, { force: true });
    throw e;
  } finally {
    await src.close();
  }
  await fs.rm(temp, { force: true });
  return out;
}
