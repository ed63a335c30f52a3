/**
 * machinectl's options (systemd 252's set, plus `-P` and `--now` from later versions), parsed
 * into one Options value with upstream's validation messages. Options that print something and
 * exit (`--help`, `--version`, `-s help`, `-o help`, `--verify=help`) come back as `exit`.
 */
import { CliError } from './cli-error.js';
import { getoptLong, GetoptError, type OptionSpec } from './getopt.js';
import { parseUnsigned } from './parse-values.js';
import { SIGTERM, signalFromString, signalHelpText, signalListText } from './signals.js';

export const OUTPUT_MODES = [
  'short', 'short-full', 'short-iso', 'short-iso-precise', 'short-precise', 'short-monotonic',
  'short-delta', 'short-unix', 'verbose', 'export', 'json', 'json-pretty', 'json-sse', 'json-seq', 'cat', 'with-unit',
] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

export const VERIFY_MODES = ['no', 'checksum', 'signature'] as const;
export const EXPORT_FORMATS = ['uncompressed', 'xz', 'gzip', 'bzip2'] as const;

export type Transport = { kind: 'local' } | { kind: 'remote'; host: string } | { kind: 'machine'; machine: string };

export interface Options {
  properties: string[];
  /** -a: show empty properties; also --all for list, list-images and clean. */
  all: boolean;
  showEmpty: boolean;
  valueOnly: boolean;
  full: boolean;
  noPager: boolean;
  legend: boolean;
  killWhom?: string;
  signal: number;
  transport: Transport;
  readOnly: boolean;
  mkdir: boolean;
  quiet: boolean;
  askPassword: boolean;
  lines: number;
  output: OutputMode;
  force: boolean;
  verify: (typeof VERIFY_MODES)[number];
  format?: string;
  uid?: string;
  setenv: string[];
  /** UINT_MAX (0xffffffff) for "all". */
  maxAddresses: number;
  now: boolean;
  /** Ours, beyond upstream: `shell … COMMAND` exits with the command's exit status. */
  wait: boolean;
}

export const MAX_ADDRESSES_ALL = 0xffffffff;

export const OPTION_SPECS: OptionSpec[] = [
  { long: 'help', short: 'h', hasArg: false },
  { long: 'version', hasArg: false },
  { long: 'property', short: 'p', hasArg: true },
  { long: 'all', short: 'a', hasArg: false },
  { long: 'value', hasArg: false },
  { long: 'full', short: 'l', hasArg: false },
  { long: 'no-pager', hasArg: false },
  { long: 'no-legend', hasArg: false },
  { long: 'kill-whom', hasArg: true },
  { long: 'signal', short: 's', hasArg: true },
  { long: 'host', short: 'H', hasArg: true },
  { long: 'machine', short: 'M', hasArg: true },
  { long: 'read-only', hasArg: false },
  { long: 'mkdir', hasArg: false },
  { long: 'quiet', short: 'q', hasArg: false },
  { long: 'lines', short: 'n', hasArg: true },
  { long: 'output', short: 'o', hasArg: true },
  { long: 'no-ask-password', hasArg: false },
  { long: 'verify', hasArg: true },
  { long: 'force', hasArg: false },
  { long: 'format', hasArg: true },
  { long: 'uid', hasArg: true },
  { long: 'setenv', short: 'E', hasArg: true },
  { long: 'max-addresses', hasArg: true },
  // Later than 252: -P NAME is --value --property=NAME (systemd 254), --now for enable/disable (253).
  { long: 'property-value', short: 'P', hasArg: true },
  { long: 'now', hasArg: false },
  // Ours: shell waits for the command's exit status (see README).
  { long: 'wait', hasArg: false },
];

export type ParseOutcome =
  | { kind: 'run'; options: Options; operands: string[] }
  | { kind: 'exit'; stdout: string; what: 'help' | 'version' | 'listing' };

export function defaultOptions(): Options {
  return {
    properties: [],
    all: false,
    showEmpty: false,
    valueOnly: false,
    full: false,
    noPager: false,
    legend: true,
    signal: SIGTERM,
    transport: { kind: 'local' },
    readOnly: false,
    mkdir: false,
    quiet: false,
    askPassword: true,
    lines: 10,
    output: 'short',
    force: false,
    verify: 'signature',
    setenv: [],
    maxAddresses: 1,
    now: false,
    wait: false,
  };
}

export function isJsonOutput(mode: OutputMode): boolean {
  return mode.startsWith('json');
}

export function parseCommandLine(argv: string[]): ParseOutcome {
  let parsed;
  try {
    parsed = getoptLong(argv, OPTION_SPECS, 'machinectl', (verb) => verb === 'shell');
  } catch (e) {
    if (e instanceof GetoptError) throw new CliError(e.message);
    throw e;
  }
  const o = defaultOptions();
  for (const { name, value } of parsed.options) {
    const v = value ?? '';
    switch (name) {
      case 'help':
        return { kind: 'exit', stdout: '', what: 'help' };
      case 'version':
        return { kind: 'exit', stdout: '', what: 'version' };
      case 'property':
        o.properties.push(v);
        // Asking for a property shows it even when empty.
        o.showEmpty = true;
        break;
      case 'property-value':
        o.properties.push(v);
        o.showEmpty = true;
        o.valueOnly = true;
        break;
      case 'all':
        o.showEmpty = true;
        o.all = true;
        break;
      case 'value':
        o.valueOnly = true;
        break;
      case 'full':
        o.full = true;
        break;
      case 'lines': {
        const n = parseUnsigned(v);
        if (n === undefined) throw new CliError(`Failed to parse lines '${v}'`);
        o.lines = n;
        break;
      }
      case 'output':
        if (v === 'help') return { kind: 'exit', stdout: OUTPUT_MODES.join('\n') + '\n', what: 'listing' };
        if (!(OUTPUT_MODES as readonly string[]).includes(v)) throw new CliError(`Unknown output '${v}'.`);
        o.output = v as OutputMode;
        if (isJsonOutput(o.output)) o.legend = false;
        break;
      case 'no-pager':
        o.noPager = true;
        break;
      case 'no-legend':
        o.legend = false;
        break;
      case 'kill-whom':
        o.killWhom = v;
        break;
      case 'signal': {
        if (v === 'help') return { kind: 'exit', stdout: signalHelpText(), what: 'listing' };
        if (v === 'list') return { kind: 'exit', stdout: signalListText(), what: 'listing' };
        const s = signalFromString(v);
        if (s === undefined) throw new CliError(`Failed to parse signal string "${v}".`);
        o.signal = s;
        break;
      }
      case 'no-ask-password':
        o.askPassword = false;
        break;
      case 'host':
        o.transport = { kind: 'remote', host: v };
        break;
      case 'machine':
        o.transport = { kind: 'machine', machine: v };
        break;
      case 'read-only':
        o.readOnly = true;
        break;
      case 'mkdir':
        o.mkdir = true;
        break;
      case 'quiet':
        o.quiet = true;
        break;
      case 'verify':
        if (v === 'help') return { kind: 'exit', stdout: VERIFY_MODES.join('\n') + '\n', what: 'listing' };
        if (!(VERIFY_MODES as readonly string[]).includes(v)) throw new CliError(`Failed to parse --verify= setting: ${v}`);
        o.verify = v as Options['verify'];
        break;
      case 'force':
        o.force = true;
        break;
      case 'format':
        if (!(EXPORT_FORMATS as readonly string[]).includes(v)) throw new CliError(`Unknown format: ${v}`);
        o.format = v;
        break;
      case 'uid':
        o.uid = v;
        break;
      case 'setenv':
        o.setenv = setenvReplace(o.setenv, v);
        break;
      case 'max-addresses':
        if (v === 'all') o.maxAddresses = MAX_ADDRESSES_ALL;
        else {
          const n = parseUnsigned(v);
          if (n === undefined) throw new CliError(`Invalid number of addresses: ${v}`);
          o.maxAddresses = n;
        }
        break;
      case 'now':
        o.now = true;
        break;
      case 'wait':
        o.wait = true;
        break;
    }
  }
  return { kind: 'run', options: o, operands: parsed.operands };
}

/**
 * strv_env_replace_strdup_passthrough: NAME=VALUE replaces an earlier NAME; a bare NAME takes its
 * value from our own environment, and is an error when it is not set there.
 */
function setenvReplace(list: string[], assignment: string): string[] {
  let entry = assignment;
  const eq = assignment.indexOf('=');
  const name = eq >= 0 ? assignment.slice(0, eq) : assignment;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new CliError(`Cannot assign environment variable ${assignment}: Invalid argument`);
  if (eq < 0) {
    const v = process.env[name];
    if (v === undefined) throw new CliError(`Cannot assign environment variable ${assignment}: No such file or directory`);
    entry = `${name}=${v}`;
  }
  return [...list.filter((e) => !e.startsWith(`${name}=`)), entry];
}
