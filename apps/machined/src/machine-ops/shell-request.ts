/**
 * OpenShell's arguments, checked in upstream's order (bus_machine_method_open_shell): empty user
 * means root; an empty path means the user's own shell as a login shell; a path must be absolute
 * and an empty argv becomes just the path; the environment must be valid assignments, each name
 * once. What reaches polkit (user, program, command_line) is built here too.
 */
import { Errors } from '@machined/protocol';

export interface ShellRequest {
  user: string;
  /** undefined: the user's login shell from the machine's passwd. */
  command?: { path: string; argv: string[] };
  environment: string[];
}

/** systemd's env_name_is_valid(): what a shell accepts as a variable name. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A name or a number as a passwd entry holds it; nothing that could end a field or an option. */
const USER_NAME = /^[^\s:/\\][^\s:/\\]{0,254}$/;

export function environmentIsValid(env: string[]): boolean {
  const seen = new Set<string>();
  for (const assignment of env) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) return false;
    const name = assignment.slice(0, eq);
    if (!ENV_NAME.test(name) || seen.has(name)) return false;
    if (assignment.includes('\0')) return false;
    seen.add(name);
  }
  return true;
}

export function parseShellRequest(user: string, path: string, args: string[], environment: string[]): ShellRequest {
  const who = user === '' ? 'root' : user;
  if (!USER_NAME.test(who) || who.startsWith('-')) throw Errors.invalidUserName(who);
  let command: ShellRequest['command'];
  if (path !== '') {
    if (!path.startsWith('/')) throw Errors.shellPathNotAbsolute(path);
    command = { path, argv: args.length > 0 ? args : [path] };
  }
  if (!environmentIsValid(environment)) throw Errors.invalidEnvironment();
  return { user: who, command, environment };
}

/** polkit details for org.freedesktop.machine1.shell, as upstream passes them. */
export function shellPolkitDetails(machine: string, req: ShellRequest): Record<string, string> {
  return {
    machine,
    user: req.user,
    program: req.command?.path ?? '',
    command_line: req.command?.argv.join(' ') ?? '',
  };
}
