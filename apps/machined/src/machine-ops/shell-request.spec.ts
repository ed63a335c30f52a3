import { expect } from 'chai';
import { ErrorNames } from '@machined/protocol';
import { environmentIsValid, parseShellRequest, shellPolkitDetails } from './shell-request.js';

describe('OpenShell arguments (bus_machine_method_open_shell)', () => {
  it('empty user is root; empty path is the login shell; an empty argv becomes the path', () => {
    expect(parseShellRequest('', '', [], [])).to.deep.equal({ user: 'root', command: undefined, environment: [] });
    expect(parseShellRequest('alice', '/bin/ls', [], ['TERM=xterm'])).to.deep.equal({
      user: 'alice',
      command: { path: '/bin/ls', argv: ['/bin/ls'] },
      environment: ['TERM=xterm'],
    });
    expect(parseShellRequest('1000', '/bin/ls', ['ls', '-l'], []).command).to.deep.equal({ path: '/bin/ls', argv: ['ls', '-l'] });
  });

  it('refuses a relative path, bad environments and odd user names with InvalidArgs', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return [(e as { errorName: string }).errorName, (e as Error).message];
      }
      return undefined;
    };
    expect(err(() => parseShellRequest('', 'bin/sh', [], []))).to.deep.equal([ErrorNames.InvalidArgs, "Specified path 'bin/sh' is not absolute"]);
    expect(err(() => parseShellRequest('', '', [], ['X']))).to.deep.equal([ErrorNames.InvalidArgs, 'Invalid environment assignments']);
    expect(err(() => parseShellRequest('a:b', '', [], []))).to.deep.equal([ErrorNames.InvalidArgs, "Invalid user name 'a:b'"]);
    expect(err(() => parseShellRequest('--user', '', [], []))?.[0]).to.equal(ErrorNames.InvalidArgs);
    expect(err(() => parseShellRequest('../etc', '', [], []))?.[0]).to.equal(ErrorNames.InvalidArgs);
  });

  it('checks environment assignments as strv_env_is_valid does', () => {
    expect(environmentIsValid(['A=1', 'B_2=', 'TERM=xterm-256color', 'X=a=b'])).to.equal(true);
    expect(environmentIsValid(['=1'])).to.equal(false);
    expect(environmentIsValid(['1A=1'])).to.equal(false);
    expect(environmentIsValid(['A B=1'])).to.equal(false);
    expect(environmentIsValid(['A=1', 'A=2'])).to.equal(false);
  });

  it('passes user, program and command line to polkit', () => {
    expect(shellPolkitDetails('box', parseShellRequest('', '/bin/sh', ['/bin/sh', '-c', 'id'], []))).to.deep.equal({
      machine: 'box',
      user: 'root',
      program: '/bin/sh',
      command_line: '/bin/sh -c id',
    });
  });
});
