/**
 * The command-line front of the project's daemons: `--help`, `--version`, a one-line usage error
 * with exit status 2, and the log level every daemon takes. Each daemon's config.ts declares its
 * own flags and throws ConfigError; main.ts asks handleDaemonCli for a configuration or an exit
 * status.
 */
import type { LogLevel } from './log.js';

export class ConfigError extends Error {}

export type ParsedConfig<C> = C | 'help' | 'version';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warning', 'error'];

/** `--log-level` (or the environment's value), checked. */
export function parseLogLevel(value: string | undefined): LogLevel {
  const level = (value ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new ConfigError(`--log-level: '${level}' is not one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/** The configuration to run with, or the exit status when there is nothing to run. */
export function handleDaemonCli<C>(program: string, usage: string, version: string, parse: () => ParsedConfig<C>): C | number {
  let cfg: ParsedConfig<C>;
  try {
    cfg = parse();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${program}: ${e.message}\nTry '${program} --help'.\n`);
      return 2;
    }
    throw e;
  }
  if (cfg === 'help') {
    process.stdout.write(usage + '\n');
    return 0;
  }
  if (cfg === 'version') {
    process.stdout.write(`${program} ${version}\n`);
    return 0;
  }
  return cfg;
}
