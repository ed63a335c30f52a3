/** Timestamps as systemd keeps them: µs of CLOCK_REALTIME and CLOCK_MONOTONIC. */
import { readFileSync } from 'node:fs';

export interface DualTimestamp {
  realtime: bigint;
  monotonic: bigint;
}

export function now(): DualTimestamp {
  // performance.timeOrigin + now() keeps sub-millisecond precision; hrtime is CLOCK_MONOTONIC (libuv).
  const realtime = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  const monotonic = process.hrtime.bigint() / 1000n;
  return { realtime, monotonic };
}

/** When the host booted, for the `.host` machine. */
export function bootTimestamp(): DualTimestamp {
  try {
    const uptimeSec = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const t = now();
    return { realtime: t.realtime - BigInt(Math.round(uptimeSec * 1e6)), monotonic: 0n };
  } catch {
    return { realtime: 0n, monotonic: 0n };
  }
}
