/** What every job needs besides its arguments: the pool, whom to tell that it changed, the keyrings. */
import type { Pool } from '../image/pool.js';
import { LOG_INFO, type Transfer } from '../transfer/transfer.js';

export interface PoolNotifier {
  changed(image: string): void;
}

export interface JobContext {
  pool: Pool;
  notifier: PoolNotifier;
  keyrings: string[];
  /** HTTP silence limit for pulls. */
  httpIdleTimeoutMs: number;
}

/**
 * Progress from a byte count against a known total, with a log line every 10 % in upstream's
 * words (`Got 40% of URL. 3s left at 1.2M/s.` for downloads, `Imported 40%.` otherwise).
 */
export function progressReporter(t: Transfer, verb: string, total: number | null, of?: string): (count: number) => void {
  let lastTenth = 0;
  const start = Date.now();
  return (count) => {
    if (!total) return;
    const f = Math.min(1, count / total);
    t.setProgress(f);
    const tenth = Math.floor(f * 10);
    if (tenth > lastTenth && tenth < 10) {
      lastTenth = tenth;
      const seconds = (Date.now() - start) / 1000;
      const rate = seconds > 0 ? count / seconds : 0;
      const eta = of && rate > 0 ? ` ${formatDuration((total - count) / rate)} left at ${formatBytes(Math.round(rate))}/s` : '';
      t.log(LOG_INFO, of ? `${verb} ${tenth * 10}% of ${of}.${eta ? `${eta}.` : ''}` : `${verb} ${tenth * 10}%.`);
    }
  };
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}min ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}min`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n}B` : `${v.toFixed(1)}${units[i]}`;
}
