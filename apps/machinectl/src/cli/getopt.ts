/**
 * A port of glibc's getopt_long() as machinectl 252 drives it: short clusters (`-al`, `-pName`),
 * long options with `=` or a separate argument, unambiguous prefixes of long options, `--` ending
 * the options, permutation (options may follow the verb), and upstream's `shell` exception (once
 * `shell` and its machine name are seen, everything after belongs to the program run in the
 * machine). The error texts are glibc's, so a typo reads the same as with systemd's machinectl.
 * yargs cannot express these rules (an option's argument may itself start with `-`, prefixes,
 * the shell cut-off), hence this small parser.
 */

export interface OptionSpec {
  long: string;
  short?: string;
  hasArg: boolean;
}

export interface ParsedOption {
  /** The long name of the option. */
  name: string;
  value?: string;
}

export interface GetoptResult {
  options: ParsedOption[];
  /** The verb and its arguments, in order. */
  operands: string[];
}

export class GetoptError extends Error {}

/**
 * @param verbStopsOptions returns true for a verb after whose first argument option parsing stops
 *   (upstream: `shell`).
 */
export function getoptLong(
  argv: string[],
  specs: OptionSpec[],
  program: string,
  verbStopsOptions: (verb: string) => boolean = () => false,
): GetoptResult {
  const options: ParsedOption[] = [];
  const operands: string[] = [];
  let stopAfterNextOperand = false;
  let i = 0;
  const fail = (msg: string): never => {
    throw new GetoptError(`${program}: ${msg}`);
  };
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const body = arg.slice(2);
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const spec = matchLong(name, specs, arg, fail);
      if (eq >= 0) {
        if (!spec.hasArg) fail(`option '--${spec.long}' doesn't allow an argument`);
        options.push({ name: spec.long, value: body.slice(eq + 1) });
      } else if (spec.hasArg) {
        if (i + 1 >= argv.length) fail(`option '--${spec.long}' requires an argument`);
        options.push({ name: spec.long, value: argv[++i]! });
      } else options.push({ name: spec.long });
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let k = 1; k < arg.length; k++) {
        const ch = arg[k]!;
        const spec = specs.find((s) => s.short === ch);
        if (!spec) fail(`invalid option -- '${ch}'`);
        if (!spec!.hasArg) {
          options.push({ name: spec!.long });
          continue;
        }
        if (k + 1 < arg.length) options.push({ name: spec!.long, value: arg.slice(k + 1) });
        else if (i + 1 < argv.length) options.push({ name: spec!.long, value: argv[++i]! });
        else fail(`option requires an argument -- '${ch}'`);
        break;
      }
      continue;
    }
    operands.push(arg);
    if (stopAfterNextOperand) {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (operands.length === 1 && verbStopsOptions(arg)) stopAfterNextOperand = true;
  }
  return { options, operands };
}

function matchLong(name: string, specs: OptionSpec[], arg: string, fail: (m: string) => never): OptionSpec {
  const exact = specs.find((s) => s.long === name);
  if (exact) return exact;
  const candidates = name.length > 0 ? specs.filter((s) => s.long.startsWith(name)) : [];
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1) {
    // glibc treats candidates that are the same option as one; ours are all distinct.
    fail(`option '--${name}' is ambiguous; possibilities:${candidates.map((c) => ` '--${c.long}'`).join('')}`);
  }
  return fail(`unrecognized option '${arg}'`);
}
