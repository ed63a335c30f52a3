/**
 * The progress line a transfer verb draws on a terminal while it follows a transfer, in the
 * spirit of importctl's `Total:` bar (≥ 256; 252 prints only the log lines): percent, bytes done
 * of the total when the total is known, the rate, and the time left. It is driven by the
 * transfer's ProgressUpdate signals (and a poll of its Progress property for servers that send
 * none); log lines are written above it (clear, write, redraw), as importctl does.
 *
 * The total in bytes comes from the caller (the size of the file being imported) or from the
 * server's own `Downloading 12.3M for URL.` line.
 */
import { formatBytes } from '../format/bytes.js';

export interface ProgressSample {
  /** 0..1, or negative when unknown. */
  fraction: number;
  /** Total bytes of the transfer, when known. */
  total: number | null;
  /** Milliseconds since the first known progress. */
  elapsedMs: number;
  /** The fraction when timing started (a transfer followed half-way). */
  startFraction: number;
}

/** `100% 1023.9M/1023.9M 1023.9M/s 59min 59s left` */
const STATS_RESERVE = 48;

const bytes = (n: number) => formatBytes(BigInt(Math.max(0, Math.round(n)))) ?? `${Math.round(n)}B`;

/** "5s", "2min 4s", "1h 3min": the two largest units, as format_timespan() would show a time left. */
export function formatTimeLeft(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}min ${s % 60}s` : `${m}min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h}h ${m % 60}min` : `${h}h`;
}

/** `Downloading 12.3M for URL.` → bytes (1024-based units as format_bytes writes them). */
export function parseDownloadSize(line: string): number | null {
  const m = /^Downloading (\d+(?:\.\d+)?)([BKMGTPE]) for /.exec(line);
  if (!m) return null;
  const exp = 'BKMGTPE'.indexOf(m[2]!);
  return Math.round(Number(m[1]) * 1024 ** exp);
}

/**
 * One line of at most `columns` characters: `Total: [=====>     ]  42% 12.3M/29.2M 1.2M/s 3s left`.
 * Parts that do not fit are dropped from the right, the bar shrinks first.
 */
export function formatProgressLine(p: ProgressSample, columns: number): string {
  const known = p.fraction >= 0;
  const pct = known ? `${String(Math.floor(p.fraction * 100)).padStart(3)}%` : ' n/a';
  const stats: string[] = [];
  const seconds = p.elapsedMs / 1000;
  const progressed = known ? p.fraction - p.startFraction : 0;
  if (known && p.total !== null) {
    stats.push(`${bytes(p.fraction * p.total)}/${bytes(p.total)}`);
    if (seconds >= 1 && progressed > 0) stats.push(`${bytes((progressed * p.total) / seconds)}/s`);
  }
  if (known && seconds >= 1 && progressed > 0 && p.fraction < 1) {
    stats.push(`${formatTimeLeft(((1 - p.fraction) * seconds) / progressed)} left`);
  }
  const tail = [pct, ...stats];
  const prefix = 'Total: ';
  // The bar takes what is left after the text, between 10 and 40 cells; with less room, no bar.
  let text = tail.join(' ');
  while (prefix.length + text.length > columns && tail.length > 1) {
    tail.pop();
    text = tail.join(' ');
  }
  // Room for the longest usual text is kept whatever is shown now, so the bar does not jump.
  const room = columns - prefix.length - Math.max(text.length, STATS_RESERVE) - 3;
  const tight = columns - prefix.length - text.length - 3;
  if (tight < 10) return (prefix + text).slice(0, Math.max(0, columns));
  const width = Math.min(40, room >= 10 ? room : tight);
  const filled = known ? Math.round(p.fraction * width) : 0;
  const bar = filled >= width ? '='.repeat(width) : '='.repeat(filled) + (known ? '>' : ' ') + ' '.repeat(width - filled - 1);
  return `${prefix}[${bar}] ${text}`;
}

/** The line on the terminal: drawn, cleared around log lines, and gone for good at the end. */
export class ProgressLine {
  private fraction = -1;
  private startFraction = 0;
  private startedAt: number | null = null;
  private total: number | null;
  private drawn = false;

  constructor(
    private readonly write: (s: string) => void,
    private readonly columns: () => number,
    total: number | null,
    private readonly now: () => number = Date.now,
  ) {
    this.total = total && total > 0 ? total : null;
  }

  /** A log line of the transfer: may reveal the total, printed above the bar. */
  noteLogLine(line: string): void {
    this.total ??= parseDownloadSize(line);
  }

  update(fraction: number): void {
    if (!Number.isFinite(fraction) || fraction < 0) return; // -DBL_MAX: unknown
    if (this.startedAt === null) {
      this.startedAt = this.now();
      this.startFraction = fraction;
    }
    this.fraction = Math.min(1, fraction);
    this.draw();
  }

  draw(): void {
    const elapsedMs = this.startedAt === null ? 0 : this.now() - this.startedAt;
    const line = formatProgressLine({ fraction: this.fraction, total: this.total, elapsedMs, startFraction: this.startFraction }, this.columns() - 1);
    this.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  /** Draws the line again after something was written above it, once there is progress to show. */
  redraw(): void {
    if (this.fraction >= 0) this.draw();
  }

  /** Wipes the line, so the next write starts at column 0 of an empty line. */
  clear(): void {
    if (!this.drawn) return;
    this.write('\r\x1b[K');
    this.drawn = false;
  }
}
