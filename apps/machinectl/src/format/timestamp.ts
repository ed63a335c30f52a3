/**
 * systemd's format_timestamp() and format_timestamp_relative() (time-util.c, 252): microseconds
 * since the epoch as "Sun 2026-11-22 19:48:35 UTC" in local time, and "3 years 0 months ago".
 */

export const USEC_PER_SEC = 1_000_000n;
const USEC_PER_MSEC = 1000n;
const USEC_PER_MINUTE = 60n * USEC_PER_SEC;
const USEC_PER_HOUR = 60n * USEC_PER_MINUTE;
const USEC_PER_DAY = 24n * USEC_PER_HOUR;
const USEC_PER_WEEK = 7n * USEC_PER_DAY;
const USEC_PER_MONTH = 2_629_800n * USEC_PER_SEC;
const USEC_PER_YEAR = 31_557_600n * USEC_PER_SEC;
export const USEC_INFINITY = 0xffff_ffff_ffff_ffffn;
/** Upstream refuses to format beyond 9999-12-30 23:59:59 UTC. */
const USEC_TIMESTAMP_FORMATTABLE_MAX = 253_402_214_399_999_999n;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function timestampIsSet(t: bigint): boolean {
  return t > 0n && t !== USEC_INFINITY;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The zone abbreviation strftime's %Z prints; exact for UTC, Intl's short name otherwise. */
function zoneName(d: Date): string {
  const tz = process.env.TZ;
  if (d.getTimezoneOffset() === 0 && (tz === undefined || tz === '' || /^(:?UTC|:?Etc\/UTC|:?UTC0|:?GMT)$/.test(tz))) {
    if (tz === 'GMT') return 'GMT';
    return 'UTC';
  }
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
  return part?.value ?? 'UTC';
}

/** format_timestamp(): undefined for unset (0 or infinity) and unformattable times. */
export function formatTimestamp(usec: bigint): string | undefined {
  if (!timestampIsSet(usec) || usec > USEC_TIMESTAMP_FORMATTABLE_MAX) return undefined;
  const d = new Date(Number(usec / USEC_PER_MSEC));
  return (
    `${DAYS[d.getDay()]} ${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zoneName(d)}`
  );
}

const plural = (n: bigint, one: string, many: string) => (n === 1n ? one : many);

/** format_timestamp_relative(): how long ago (or ahead) usec is from nowUsec. */
export function formatTimestampRelative(usec: bigint, nowUsec: bigint = nowRealtimeUsec()): string | undefined {
  if (!timestampIsSet(usec)) return undefined;
  let d: bigint;
  let s: string;
  if (nowUsec > usec) {
    d = nowUsec - usec;
    s = 'ago';
  } else {
    d = usec - nowUsec;
    s = 'left';
  }
  if (d >= USEC_PER_YEAR) {
    const years = d / USEC_PER_YEAR;
    const months = (d % USEC_PER_YEAR) / USEC_PER_MONTH;
    return `${years} ${plural(years, 'year', 'years')} ${months} ${plural(months, 'month', 'months')} ${s}`;
  }
  if (d >= USEC_PER_MONTH) {
    const months = d / USEC_PER_MONTH;
    const days = (d % USEC_PER_MONTH) / USEC_PER_DAY;
    return `${months} ${plural(months, 'month', 'months')} ${days} ${plural(days, 'day', 'days')} ${s}`;
  }
  if (d >= USEC_PER_WEEK) {
    const weeks = d / USEC_PER_WEEK;
    const days = (d % USEC_PER_WEEK) / USEC_PER_DAY;
    return `${weeks} ${plural(weeks, 'week', 'weeks')} ${days} ${plural(days, 'day', 'days')} ${s}`;
  }
  if (d >= 2n * USEC_PER_DAY) return `${d / USEC_PER_DAY} days ${s}`;
  if (d >= 25n * USEC_PER_HOUR) return `1 day ${(d - USEC_PER_DAY) / USEC_PER_HOUR}h ${s}`;
  if (d >= 6n * USEC_PER_HOUR) return `${d / USEC_PER_HOUR}h ${s}`;
  if (d >= USEC_PER_HOUR) return `${d / USEC_PER_HOUR}h ${(d % USEC_PER_HOUR) / USEC_PER_MINUTE}min ${s}`;
  if (d >= 5n * USEC_PER_MINUTE) return `${d / USEC_PER_MINUTE}min ${s}`;
  if (d >= USEC_PER_MINUTE) return `${d / USEC_PER_MINUTE}min ${(d % USEC_PER_MINUTE) / USEC_PER_SEC}s ${s}`;
  if (d >= USEC_PER_SEC) return `${d / USEC_PER_SEC}s ${s}`;
  if (d >= USEC_PER_MSEC) return `${d / USEC_PER_MSEC}ms ${s}`;
  if (d > 0n) return `${d}us ${s}`;
  return 'now';
}

export function nowRealtimeUsec(): bigint {
  // performance.timeOrigin + now() has sub-millisecond resolution; Date.now() would round.
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}
