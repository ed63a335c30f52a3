/**
 * Writing to stdout and stderr without Node's stream objects. The first touch of process.stdout
 * builds a stream (net/tty/fs machinery) and costs ~5 ms of a ~60 ms run; a CLI that writes its
 * output once can write the fd directly. On a terminal the streams are used as before (they are
 * synchronous there too, and tty code is loaded anyway to learn the width).
 */
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of s to fd 1 or 2, blocking; a pipe someone left non-blocking is waited on. */
export function writeAll(fd: 1 | 2, s: string): void {
  if (s.length === 0) return;
  if (isatty(fd)) {
    (fd === 1 ? process.stdout : process.stderr).write(s);
    return;
  }
  let buf = Buffer.from(s, 'utf8');
  while (buf.length > 0) {
    try {
      const n = writeSync(fd, buf);
      buf = buf.subarray(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
}
