/**
 * Signal names as systemd's signal_to_string()/signal_from_string() know them on Linux (x86/arm:
 * _NSIG 65, SIGRTMIN 34 as glibc reports it, SIGRTMAX 64), and the two listings `-s help` and
 * `-s list` print.
 */

const NAMES: Record<number, string> = {
  1: 'HUP', 2: 'INT', 3: 'QUIT', 4: 'ILL', 5: 'TRAP', 6: 'ABRT', 7: 'BUS', 8: 'FPE', 9: 'KILL', 10: 'USR1',
  11: 'SEGV', 12: 'USR2', 13: 'PIPE', 14: 'ALRM', 15: 'TERM', 16: 'STKFLT', 17: 'CHLD', 18: 'CONT', 19: 'STOP',
  20: 'TSTP', 21: 'TTIN', 22: 'TTOU', 23: 'URG', 24: 'XCPU', 25: 'XFSZ', 26: 'VTALRM', 27: 'PROF', 28: 'WINCH',
  29: 'IO', 30: 'PWR', 31: 'SYS',
};

export const SIGRTMIN = 34;
export const SIGRTMAX = 64;
const NSIG = 65;

export const SIGINT = 2;
export const SIGTERM = 15;

/** signal_to_string(): the name without "SIG", RTMIN+n, or the number as text. */
export function signalToString(signo: number): string {
  if (NAMES[signo]) return NAMES[signo]!;
  if (signo >= SIGRTMIN && signo <= SIGRTMAX) return `RTMIN+${signo - SIGRTMIN}`;
  return String(signo);
}

const INT_RE = /^\s*[+-]?\d+$/;

/** signal_from_string(): a number 1…64, NAME or SIGNAME, RTMIN[+n], RTMAX[-n]; undefined if invalid. */
export function signalFromString(input: string): number | undefined {
  if (INT_RE.test(input)) {
    const n = Number(input);
    return n >= 1 && n < NSIG ? n : undefined;
  }
  const s = input.startsWith('SIG') ? input.slice(3) : input;
  for (const [k, v] of Object.entries(NAMES)) if (v === s) return Number(k);
  if (s.startsWith('RTMIN')) {
    const rest = s.slice(5);
    if (rest === '') return SIGRTMIN;
    if (!rest.startsWith('+') || !INT_RE.test(rest)) return undefined;
    const n = Number(rest);
    return n >= 0 && n <= SIGRTMAX - SIGRTMIN ? n + SIGRTMIN : undefined;
  }
  if (s.startsWith('RTMAX')) {
    const rest = s.slice(5);
    if (rest === '') return SIGRTMAX;
    if (!rest.startsWith('-') || !INT_RE.test(rest)) return undefined;
    const n = Number(rest);
    return n <= 0 && n >= SIGRTMIN - SIGRTMAX ? n + SIGRTMAX : undefined;
  }
  return undefined;
}

/** `-s help`: every entry of the signal string table, 0 … _NSIG-1. */
export function signalHelpText(): string {
  const lines: string[] = [];
  for (let i = 0; i < NSIG; i++) lines.push(signalToString(i));
  return lines.join('\n') + '\n';
}

/** `-s list`: a two-column table of numbers and SIG names. */
export function signalListText(): string {
  const lines = ['SIGNAL NAME'];
  for (let i = 1; i < NSIG; i++) lines.push(`${String(i).padEnd(6)} SIG${signalToString(i)}`);
  return lines.join('\n') + '\n';
}
