/**
 * A failure the user should read as one line on stderr, with the exit status to leave with.
 * Everything machinectl reports goes through this; nothing else may reach the top level, so
 * no stack trace is ever printed.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
