/**
 * Checks the member names of a tar stream while it flows to GNU tar, so that a hostile member is
 * refused before tar ever sees it: an absolute name, a `..` component, or a hard link to such a
 * name (whose target tar would otherwise resolve on the host). Understands what OS images use:
 * ustar (prefix + name), GNU long names and long link names (`L`, `K`), and pax extended headers
 * (`path`, `linkpath`). Only the 512-byte headers are parsed; member data is skipped by count.
 * Symlink targets are not refused: OS trees are full of absolute ones (`/bin/sh`), and GNU tar
 * never writes through a symlink it created (it defers them as placeholders).
 */

export class HostileMemberError extends Error {}

const BLOCK = 512;
/** Types whose size field carries no data (POSIX): hard link, symlink, devices, directory, FIFO. */
const NO_DATA = new Set(['1', '2', '3', '4', '5', '6']);

function cstring(b: Buffer, start: number, len: number): string {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function numeric(b: Buffer, start: number, len: number): number {
  const field = b.subarray(start, start + len);
  if (field[0]! & 0x80) {
    // GNU base-256 for sizes of 8 GiB and more.
    let n = 0;
    for (let i = 1; i < len; i++) n = n * 256 + field[i]!;
    return n;
  }
  const s = cstring(b, start, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** Why a member name would reach outside the target directory, or null when it stays inside. */
export function unsafeMemberName(name: string): string | null {
  if (name.startsWith('/')) return 'is an absolute path';
  if (name.split('/').includes('..')) return "contains a '..' component";
  return null;
}

function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = parseInt(data.subarray(pos, sp).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0 || pos + len > data.length) break;
    const rec = data.subarray(sp + 1, pos + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

export class TarScanner {
  private pending = Buffer.alloc(0);
  /** Data bytes of the current member still to skip. */
  private skip = 0;
  /** Data of an `L`, `K` or `x` member being collected, and what it is for. */
  private collecting: { kind: string; need: number; parts: Buffer[]; got: number } | null = null;
  private longName: string | null = null;
  private longLink: string | null = null;
  private paxPath: string | null = null;
  private paxLink: string | null = null;
  private ended = false;
  /** Members seen so far. */
  members = 0;

  /** Feeds the next bytes; throws HostileMemberError at the first hostile member. */
  push(chunk: Buffer): void {
    if (this.ended) {
      this.checkTrailer(chunk);
      return;
    }
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - pos);
        pos += n;
        this.skip -= n;
        if (this.skip > 0) break;
        continue;
      }
      if (this.collecting) {
        const c = this.collecting;
        const padded = Math.ceil(c.need / BLOCK) * BLOCK;
        const n = Math.min(padded - c.got, buf.length - pos);
        c.parts.push(buf.subarray(pos, pos + n));
        c.got += n;
        pos += n;
        if (c.got < padded) break;
        this.finishCollect(Buffer.concat(c.parts).subarray(0, c.need), c.kind);
        this.collecting = null;
        continue;
      }
      if (buf.length - pos < BLOCK) break;
      const header = buf.subarray(pos, pos + BLOCK);
      pos += BLOCK;
      if (header.every((x) => x === 0)) {
        // End of archive. GNU tar reads on past a lone zero block, so anything but zero padding
        // after it is refused: it could hide members we never checked.
        this.ended = true;
        this.checkTrailer(buf.subarray(pos));
        pos = buf.length;
        break;
      }
      this.header(header);
    }
    this.pending = Buffer.from(buf.subarray(pos));
    buf = Buffer.alloc(0);
  }

  private checkTrailer(rest: Buffer): void {
    if (rest.some((x) => x !== 0)) throw new HostileMemberError('data after the end-of-archive marker (trailing garbage, or members hidden behind a zero block)');
  }

  private finishCollect(data: Buffer, kind: string): void {
    if (kind === 'L') this.longName = cstring(data, 0, data.length);
    else if (kind === 'K') this.longLink = cstring(data, 0, data.length);
    else if (kind === 'x') {
      const rec = paxRecords(data);
      if (rec.has('path')) this.paxPath = rec.get('path')!;
      if (rec.has('linkpath')) this.paxLink = rec.get('linkpath')!;
    }
  }

  private header(h: Buffer): void {
    const type = String.fromCharCode(h[156]!);
    const size = numeric(h, 124, 12);
    if (type === 'L' || type === 'K' || type === 'x') {
      this.collecting = { kind: type, need: size, parts: [], got: 0 };
      return;
    }
    if (type === 'g') {
      this.skip = Math.ceil(size / BLOCK) * BLOCK;
      return;
    }
    let name = cstring(h, 0, 100);
    const magic = cstring(h, 257, 6);
    if (magic === 'ustar') {
      const prefix = cstring(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    name = this.paxPath ?? this.longName ?? name;
    const link = this.paxLink ?? this.longLink ?? cstring(h, 157, 100);
    this.longName = this.longLink = this.paxPath = this.paxLink = null;
    this.members++;
    const why = unsafeMemberName(name);
    if (why) throw new HostileMemberError(`member '${name.slice(0, 200)}' ${why}`);
    if (type === '1') {
      const lwhy = unsafeMemberName(link);
      if (lwhy) throw new HostileMemberError(`hard link '${name.slice(0, 200)}' points to '${link.slice(0, 200)}', which ${lwhy}`);
    }
    this.skip = NO_DATA.has(type) ? 0 : Math.ceil(size / BLOCK) * BLOCK;
  }
}
