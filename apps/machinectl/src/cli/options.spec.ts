import { expect } from 'chai';
import { CliError } from './cli-error.js';
import { parseCommandLine, type Options } from './options.js';
import { findVerb } from './verbs.js';
import { signalFromString, signalHelpText, signalListText } from './signals.js';

function run(...argv: string[]): { options: Options; operands: string[] } {
  const r = parseCommandLine(argv);
  if (r.kind !== 'run') throw new Error('expected options to parse');
  return r;
}
function error(...argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (e) {
    if (e instanceof CliError) return e.message;
    throw e;
  }
  throw new Error('expected a CliError');
}

describe('command line (getopt_long and upstream\'s checks)', () => {
  it('takes options anywhere, clustered, with = or a separate argument, and unique prefixes', () => {
    const r = run('kill', 'foo', '-s', 'KILL', '--kill-whom=leader', '-al', '--no-leg', 'bar');
    expect(r.operands).to.deep.equal(['kill', 'foo', 'bar']);
    expect(r.options).to.include({ signal: 9, killWhom: 'leader', all: true, full: true, legend: false });
    expect(run('show', '-pName', '-p', '--value').options.properties).to.deep.equal(['Name', '--value']);
    expect(run('list', '--', '-x').operands).to.deep.equal(['list', '-x']);
  });

  it('stops at the machine name after shell, so the command keeps its options', () => {
    expect(run('-q', 'shell', '--uid=1', 'foo', '/bin/ls', '-l').operands).to.deep.equal(['shell', 'foo', '/bin/ls', '-l']);
  });

  it('reports bad options with glibc\'s words', () => {
    expect(error('--foo')).to.equal("machinectl: unrecognized option '--foo'");
    expect(error('--foo=1')).to.equal("machinectl: unrecognized option '--foo=1'");
    expect(error('-Z')).to.equal("machinectl: invalid option -- 'Z'");
    expect(error('-p')).to.equal("machinectl: option requires an argument -- 'p'");
    expect(error('--property')).to.equal("machinectl: option '--property' requires an argument");
    expect(error('--all=1')).to.equal("machinectl: option '--all' doesn't allow an argument");
    expect(error('--no')).to.equal("machinectl: option '--no' is ambiguous; possibilities: '--no-pager' '--no-legend' '--no-ask-password' '--now'");
  });

  it('validates values with upstream\'s messages', () => {
    expect(error('-s', 'FOO')).to.equal('Failed to parse signal string "FOO".');
    expect(error('-n', 'x')).to.equal("Failed to parse lines 'x'");
    expect(error('-o', 'bad')).to.equal("Unknown output 'bad'.");
    expect(error('--max-addresses=x')).to.equal('Invalid number of addresses: x');
    expect(error('--verify=bad')).to.equal('Failed to parse --verify= setting: bad');
    expect(error('--format=bad')).to.equal('Unknown format: bad');
    expect(run('-o', 'json').options.legend).to.equal(false);
    expect(run('--max-addresses=all').options.maxAddresses).to.equal(0xffffffff);
    expect(run('-P', 'Name').options).to.include({ valueOnly: true, showEmpty: true });
  });

  it('checks verbs and their argument counts', () => {
    expect(findVerb([])).to.have.nested.property('spec.name', 'list');
    expect(findVerb(['frob'])).to.deep.equal({ error: 'Unknown command verb frob.' });
    expect(findVerb(['status'])).to.deep.equal({ error: 'Too few arguments.' });
    expect(findVerb(['list', 'x'])).to.deep.equal({ error: 'Too many arguments.' });
    expect(findVerb(['rename', 'a', 'b'])).to.have.nested.property('spec.name', 'rename');
  });

  it('knows signals by name, SIG name, number and RTMIN/RTMAX offsets', () => {
    expect(signalFromString('KILL')).to.equal(9);
    expect(signalFromString('SIGUSR1')).to.equal(10);
    expect(signalFromString('64')).to.equal(64);
    expect(signalFromString('65')).to.equal(undefined);
    expect(signalFromString('0')).to.equal(undefined);
    expect(signalFromString('RTMIN+4')).to.equal(38);
    expect(signalFromString('RTMAX-1')).to.equal(63);
    expect(signalHelpText().split('\n').slice(0, 3)).to.deep.equal(['0', 'HUP', 'INT']);
    expect(signalListText().split('\n')[38]).to.equal('38     SIGRTMIN+4');
  });
});
