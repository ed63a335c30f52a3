/**
 * `shell --wait`: the exit status of the command run in the machine. Neither machine1 nor a PTY
 * carries one (upstream issue #4215), so the command runs under a small /bin/sh wrapper that
 * writes the status at the end as a private terminal control string (OSC 3008, which a terminal
 * would ignore if it ever leaked). The client takes it out of the output. Because the wrapper is
 * just the program and arguments of an ordinary OpenMachineShell call, it works the same against
 * systemd-machined.
 */

const MARKER_PREFIX = '\x1b]3008;machinectl-exit=';
const MARKER_END = '\x07';

/** The program and argv that run `path argv[1…]` and report its status (argv[0] becomes path). */
export function wrapForExitStatus(path: string, argv: string[]): { path: string; argv: string[] } {
  const script = `"$@"; s=$?; printf '\\033]3008;machinectl-exit=%d\\007' "$s"; exit "$s"`;
  return { path: '/bin/sh', argv: ['/bin/sh', '-c', script, 'sh', path, ...argv.slice(1)] };
}

/**
 * Filters the output stream: passes everything but the marker through, remembers the status. A
 * marker may be split across reads, so a possible start of one is held back until it is decided.
 * Chunks are latin1 strings (one character per byte), so nothing is lost on the way.
 */
export class ExitMarkerFilter {
  status: number | undefined;
  private held = '';

  push(chunk: string): string {
    let text = this.held + chunk;
    this.held = '';
    let out = '';
    for (;;) {
      const at = text.indexOf(MARKER_PREFIX);
      if (at < 0) break;
      const end = text.indexOf(MARKER_END, at + MARKER_PREFIX.length);
      if (end < 0 && text.length - at <= MARKER_PREFIX.length + 4) {
        out += text.slice(0, at);
        this.held = text.slice(at);
        return out;
      }
      if (end < 0) {
        // Too long to be ours: ordinary output that happens to start the same way.
        out += text.slice(0, at + 1);
        text = text.slice(at + 1);
        continue;
      }
      const value = text.slice(at + MARKER_PREFIX.length, end);
      if (/^\d{1,3}$/.test(value)) {
        this.status = Number(value);
        out += text.slice(0, at);
      } else {
        out += text.slice(0, end + 1);
      }
      text = text.slice(end + 1);
    }
    // Hold back a tail that could be the beginning of a marker.
    for (let n = Math.min(MARKER_PREFIX.length - 1, text.length); n > 0; n--) {
      if (MARKER_PREFIX.startsWith(text.slice(text.length - n))) {
        this.held = text.slice(text.length - n);
        return out + text.slice(0, text.length - n);
      }
    }
    return out + text;
  }

  /** What is still held back when the stream ends (it was not a marker after all). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}
