/**
 * What a verb gets: the parsed options, its arguments, a lazily opened bus connection, the
 * terminal's properties, and an output buffer (stdout is written once at the end, through the
 * pager when upstream would use one). Diagnostics go to stderr at once, as systemd's log does.
 */
import type { Options } from '../cli/options.js';
import type { BusClient } from '../bus/bus-client.js';
import type { TerminalInfo } from '../output/terminal.js';

export interface Context {
  verb: string;
  /** The verb's arguments (argv[1…] in upstream's terms). */
  args: string[];
  options: Options;
  term: TerminalInfo;
  /** The bus connection, opened on first use; `unixFds` for verbs that pass file descriptors. */
  bus(opts?: { unixFds?: boolean }): Promise<BusClient>;
  /** Appends to stdout. */
  print(s: string): void;
  /** A log line on stderr, as log_error() (the default) or log_info() writes it. */
  log(line: string, level?: 'error' | 'info'): void;
  /** This verb's output goes through the pager (upstream's pager_open). */
  usePager(): void;
}

/** A verb's exit status. */
export type VerbResult = number;
