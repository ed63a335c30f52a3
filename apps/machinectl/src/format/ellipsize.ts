/**
 * Console width and ellipsizing as systemd's utf8_console_width() and ellipsize() do them: wide
 * East Asian characters take two cells, the ellipsis is "…" in a UTF-8 locale and "..." otherwise.
 */

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

const charWidth = (ch: string) => (isWide(ch.codePointAt(0)!) ? 2 : 1);

export function consoleWidth(s: string): number {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s.length;
  let w = 0;
  for (const ch of s) w += charWidth(ch);
  return w;
}

export function ellipsisGlyph(utf8: boolean): string {
  return utf8 ? '…' : '...';
}

/**
 * ellipsize(s, width, percent): cut s to `width` cells, putting the ellipsis `percent` of the way
 * along (100 = at the end).
 */
export function ellipsize(s: string, width: number, percent: number, utf8: boolean): string {
  if (consoleWidth(s) <= width) return s;
  if (width === 0) return '';
  if (width === 1) return utf8 ? '…' : '.';
  if (width === 2 && !utf8) return '..';
  const glyph = ellipsisGlyph(utf8);
  const need = utf8 ? 1 : 3;
  const chars = [...s];
  const budget = width - need;
  const leftBudget = Math.floor((budget * percent + 50) / 100);
  let left = '';
  let lw = 0;
  let i = 0;
  for (; i < chars.length; i++) {
    const cw = charWidth(chars[i]!);
    if (lw + cw > leftBudget) break;
    left += chars[i];
    lw += cw;
  }
  let right = '';
  let rw = 0;
  for (let k = chars.length - 1; k >= i; k--) {
    const cw = charWidth(chars[k]!);
    if (lw + rw + cw > budget) break;
    right = chars[k] + right;
    rw += cw;
  }
  return left + glyph + right;
}
