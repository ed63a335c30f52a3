/**
 * machinectl: wiring only. Parse the command line (getopt_long rules, upstream's messages), check
 * the verb, connect to the bus when the verb needs it, run the verb, and write its output once,
 * through the pager where upstream would page. Every failure ends as one line on stderr and a
 * non-zero exit, never a stack trace.
 */
import { CliError } from './cli/cli-error.js';
import { parseCommandLine } from './cli/options.js';
import { findVerb } from './cli/verbs.js';
import { helpText } from './cli/help.js';
import { logLine, terminalInfo } from './output/terminal.js';
import { pagerCommand, writeThroughPager } from './output/pager.js';
import { writeAll } from './output/stdio.js';
import type { BusClient } from './bus/bus-client.js';
import type { Context } from './verbs/context.js';
import { UPSTREAM, VERSION } from './version.js';

async function writeOut(s: string): Promise<void> {
  writeAll(1, s);
}

// No error's stack is ever printed; not capturing them saves time when a hundred calls fail
// (GetMachineOSRelease on a server without it).
Error.stackTraceLimit = 0;

async function main(argv: string[]): Promise<number> {
  const term = terminalInfo();
  const parsed = parseCommandLine(argv);
  if (parsed.kind === 'exit') {
    if (parsed.what === 'help') {
      // Upstream's help() opens the pager too (on a terminal, unless --no-pager came first).
      const pager = term.isTty && !argv.includes('--no-pager') ? pagerCommand() : undefined;
      term.pagerActive = pager !== undefined;
      if (pager) await writeThroughPager(helpText(term), pager);
      else await writeOut(helpText(term));
    }
    else if (parsed.what === 'version') await writeOut(`machinectl ${VERSION} (machined; compatible with ${UPSTREAM})\n`);
    else await writeOut(parsed.stdout);
    return 0;
  }
  const { options, operands } = parsed;
  const found = findVerb(operands);
  if (found.error !== undefined) throw new CliError(found.error);
  const { spec } = found;

  let out = '';
  let paged = false;
  let client: Promise<BusClient> | undefined;
  const ctx: Context = {
    verb: spec.name,
    args: operands.slice(1),
    options,
    term,
    bus: (opts) => {
      client ??= import('./bus/bus-client.js').then((m) => m.connectBus(options.transport, options.askPassword, process.env, opts?.unixFds ?? false));
      // Keep a failed connection from counting as unhandled before the verb awaits it.
      client.catch(() => {});
      return client;
    },
    print: (s) => {
      out += s;
    },
    log: (line, level = 'error') => {
      // Keep stdout and stderr in the order upstream writes them (its stdout is line-buffered
      // on a terminal); with a pager, stdout goes there at the end anyway.
      if (!paged && out.length > 0) {
        writeAll(1, out);
        out = '';
      }
      writeAll(2, logLine(line, level, term));
    },
    usePager: () => {
      paged = term.isTty && !options.noPager && pagerCommand() !== undefined;
      term.pagerActive = paged;
    },
  };
  if (spec.name === 'help') {
    ctx.usePager();
    out = helpText(term);
  }
  let rc: number;
  try {
    rc = spec.name === 'help' ? 0 : await spec.run(ctx);
  } finally {
    if (client) client.then((c) => c.close(), () => {});
  }
  if (paged && out.length > 0) await writeThroughPager(out, pagerCommand()!);
  else await writeOut(out);
  return rc;
}

// Exit as soon as the output is written: waiting for the bus socket to close gains nothing.
// (stdout and stderr are synchronous on Linux for files, pipes and terminals.)
main(process.argv.slice(2)).then(
  (rc) => {
    process.exit(rc);
  },
  (e: unknown) => {
    if (e instanceof CliError) {
      writeAll(2, logLine(e.message, 'error', terminalInfo()));
      process.exit(e.exitCode);
    }
    // Not expected: still one line, with what went wrong, never the stack.
    writeAll(2, `machinectl: ${(e as Error)?.message ?? String(e)}\n`);
    process.exit(1);
  },
);
