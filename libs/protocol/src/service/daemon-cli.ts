/**
 * The command-line front of the project's daemons: `--help`, `--version`, a one-line usage error
 * with exit status 2, and the log level every daemon takes. Each daemon's config.ts declares its
 * own flags and throws ConfigError; main.ts asks handleDaemonCli for a configuration or an exit
 * status.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Logger, LogLevel } from './log.js';

export class ConfigError extends Error {}

export type ParsedConfig<C> = C | 'help' | 'version';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warning', 'error'];

/** The flags every daemon takes besides its own. */
const COMMON_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** A daemon's own flags, as node:util parseArgs takes them. */
export type DaemonFlags = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs gives for those flags (plus help and version). */
export type DaemonFlagValues<F extends DaemonFlags> = ReturnType<
  typeof parseArgs<{ args: string[]; options: F & typeof COMMON_FLAGS; strict: true; allowPositionals: false }>
>['values'];

/**
 * A daemon's command line: its own flags plus -h/--help and --version, no positional arguments.
 * The flags' values, or 'help' / 'version' when asked for; an unknown flag or a missing value is a
 * ConfigError carrying parseArgs's message.
 */
export function parseDaemonArgs<const F extends DaemonFlags>(argv: string[], flags: F): ParsedConfig<DaemonFlagValues<F>> {
  let values: { help?: boolean; version?: boolean };
  try {
    values = parseArgs({ args: argv, options: { ...flags, ...COMMON_FLAGS }, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  return values as DaemonFlagValues<F>;
}

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

/**
 * Serves until SIGTERM or SIGINT (status 0) or the loss of the bus connection (status 1), then
 * runs the daemon's own clean-up, disconnects and resolves with the exit status.
 */
export function serveUntilStopped(
  bus: { on(event: 'error', listener: (e: Error) => void): unknown; disconnect(): void },
  log: Logger,
  cleanUp: () => Promise<void>,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (code: number, why: string) => {
      if (stopping) return;
      stopping = true;
      log.info(`Shutting down: ${why}.`);
      await cleanUp();
      bus.disconnect();
      resolve(code);
    };
    process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
    process.on('SIGINT', () => void shutdown(0, 'SIGINT'));
    bus.on('error', (e: Error) => void shutdown(1, `bus connection failed: ${e.message}`));
  });
}

/** Runs a daemon's main and exits with its status; an unexpected failure is one line, no stack. */
export function runDaemonMain(program: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`error: ${program}: ${err.message}\n`);
      process.exit(1);
    },
  );
}
