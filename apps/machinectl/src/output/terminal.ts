/**
 * What systemd's terminal helpers decide: whether stdout is a terminal, its width, whether to
 * colour (SYSTEMD_COLORS, NO_COLOR, TERM=dumb, both stdout and stderr on a tty), whether the
 * locale is UTF-8 (for "…" versus "..."), and the ANSI sequences it uses.
 */

import { isatty } from 'node:tty';

export interface TerminalInfo {
  /** stdout is a terminal. */
  isTty: boolean;
  /** on_tty(): stdout and stderr are terminals (colour and the polkit agent depend on it). */
  onTty: boolean;
  columns: number;
  colors: boolean;
  /** 256-colour mode (grey is 245), else the 16 colours. */
  colors256: boolean;
  utf8: boolean;
  /** Output goes through the pager (upstream's pager_have()): tables are then not shrunk. */
  pagerActive: boolean;
}

function envBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.toLowerCase();
  if (['1', 'yes', 'y', 'true', 't', 'on'].includes(s)) return true;
  if (['0', 'no', 'n', 'false', 'f', 'off'].includes(s)) return false;
  return undefined;
}

/** is_locale_utf8(): true unless C/POSIX is chosen explicitly (or SYSTEMD_UTF8=0). */
export function isLocaleUtf8(env: NodeJS.ProcessEnv = process.env): boolean {
  const forced = envBool(env.SYSTEMD_UTF8);
  if (forced !== undefined) return forced;
  const loc = env.LC_ALL || env.LC_CTYPE || env.LANG;
  if (!loc) return true;
  return !(loc === 'C' || loc === 'POSIX');
}

export function terminalInfo(env: NodeJS.ProcessEnv = process.env): TerminalInfo {
  // isatty() rather than process.stdout.isTTY: touching process.stdout builds a stream (~5 ms).
  const isTty = isatty(1);
  const onTty = isTty && isatty(2);
  let columns = Number(env.COLUMNS);
  if (!Number.isInteger(columns) || columns <= 0) columns = isTty ? (process.stdout.columns ?? 80) : 80;
  const dumb = env.TERM === 'dumb';
  let colors: boolean;
  let colors256 = true;
  const sc = env.SYSTEMD_COLORS;
  if (sc === '16') colors = true, (colors256 = false);
  else if (sc === '256' || sc === '24bit') colors = true;
  else if (envBool(sc) !== undefined) colors = envBool(sc)!;
  else if (env.NO_COLOR !== undefined) colors = false;
  else colors = onTty && !dumb;
  return { isTty, onTty, columns, colors, colors256, utf8: isLocaleUtf8(env), pagerActive: false };
}

export const ANSI_NORMAL = '\x1b[0m';
export const ANSI_UNDERLINE = '\x1b[0;4m';
export const ANSI_HIGHLIGHT = '\x1b[0;1;39m';
export const ANSI_HIGHLIGHT_RED = '\x1b[0;1;31m';
export const ansiGrey = (t: TerminalInfo) => (t.colors256 ? '\x1b[0;38;5;245m' : '\x1b[0;90m');

/**
 * A line as systemd's log writes it to the console: errors in red when colouring, and "\r\n" on
 * a terminal (which may be in raw mode).
 */
export function logLine(line: string, level: 'error' | 'info', t: TerminalInfo): string {
  const eol = isatty(2) ? '\r\n' : '\n';
  if (t.colors && level === 'error') return `${ANSI_HIGHLIGHT_RED}${line}${ANSI_NORMAL}${eol}`;
  return line + eol;
}

/** urlify_enabled(): SYSTEMD_URLIFY, else whenever colours are on. */
export function urlifyEnabled(t: TerminalInfo, env: NodeJS.ProcessEnv = process.env): boolean {
  return envBool(env.SYSTEMD_URLIFY) ?? t.colors;
}
