/**
 * ptyfwd's way out: three ^] (0x1d) typed within one second end the session, whatever the remote
 * program does with its input.
 */
export const ESCAPE = 0x1d;
const WINDOW_MS = 1000;

export class EscapeDetector {
  private count = 0;
  private first = 0;

  /** Feeds typed bytes; true once the third ^] within a second has arrived. */
  feed(bytes: Uint8Array, now = Date.now()): boolean {
    for (const b of bytes) {
      if (b !== ESCAPE) continue;
      if (this.count === 0 || now - this.first > WINDOW_MS) {
        this.first = now;
        this.count = 0;
      }
      if (++this.count >= 3) return true;
    }
    return false;
  }
}
