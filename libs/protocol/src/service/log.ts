/**
 * One line per event on stderr, with a level. Under systemd the `<N>` syslog prefix lets journald
 * file the line at the right priority; on a terminal or in a test log the plain word reads better.
 */
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3 };
const SYSLOG: Record<LogLevel, number> = { debug: 7, info: 6, warning: 4, error: 3 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warning(msg: string): void;
  error(msg: string): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const journal = process.env.JOURNAL_STREAM !== undefined;
  const at = (lvl: LogLevel) => (msg: string) => {
    if (RANK[lvl] < RANK[level]) return;
    const oneLine = msg.replace(/\n/g, ' | ');
    write(journal ? `<${SYSLOG[lvl]}>${oneLine}\n` : `${lvl}: ${oneLine}\n`);
  };
  return { debug: at('debug'), info: at('info'), warning: at('warning'), error: at('error') };
}
