import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../deploy/completion/bash/machinectl', import.meta.url));
const ZSH_DIR = fileURLToPath(new URL('../../deploy/completion/zsh', import.meta.url));
const ZSH_CAPTURE = fileURLToPath(new URL('./zsh-capture.zsh', import.meta.url));
const FAKE_MACHINECTL =
  '#!/bin/sh\ncase "$*" in\n*list-images*) echo "img-one raw"; echo "img-two directory";;\n*list*) echo "box-a container"; echo "box-b vm";;\n*--signal=help*) printf "0\\nHUP\\nKILL\\n";;\n*--output=help*) printf "short\\njson\\n";;\nesac\n';

/** A directory holding a stand-in machinectl that answers the listings completion asks for. */
function withFakeMachinectl<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'machinectl-completion-'));
  try {
    const fake = join(dir, 'machinectl');
    writeFileSync(fake, FAKE_MACHINECTL);
    chmodSync(fake, 0o755);
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What zsh offers on TAB after the given command line (a real zsh on a pty, see zsh-capture.zsh). */
function completeZsh(line: string): string[] {
  return withFakeMachinectl((dir) => {
    const out = execFileSync('zsh', ['-f', ZSH_CAPTURE, line], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, COMPDIR: ZSH_DIR, HOME: dir },
      encoding: 'utf8',
      timeout: 20_000,
    });
    return out.split('\n').map((l) => l.trim()).filter(Boolean);
  });
}

/** What bash completes for the given words, with a stand-in machinectl on PATH for names. */
function complete(words: string[]): string[] {
  return withFakeMachinectl((dir) => {
    const cword = words.length - 1;
    const script = `source ${JSON.stringify(SCRIPT)}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${cword}; _machinectl; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = execFileSync('bash', ['-c', script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8' });
    return out.split('\n').filter(Boolean);
  });
}

describe('bash completion', () => {
  it('completes verbs, options, machine and image names from machinectl, signals', () => {
    expect(complete(['machinectl', 'sta'])).to.deep.equal(['status', 'start']);
    expect(complete(['machinectl', '--no-'])).to.include.members(['--no-pager', '--no-legend', '--no-ask-password']);
    expect(complete(['machinectl', 'status', ''])).to.deep.equal(['box-a', 'box-b']);
    expect(complete(['machinectl', '-q', 'remove', 'img-'])).to.deep.equal(['img-one', 'img-two']);
    expect(complete(['machinectl', 'kill', '-s', 'SIGK'])).to.deep.equal(['SIGKILL']);
    expect(complete(['machinectl', '--kill-whom', ''])).to.deep.equal(['all', 'leader']);
  });
});

describe('zsh completion', function () {
  this.timeout(60_000);
  it('completes verbs, options, machine and image names from machinectl, signals, files', () => {
    expect(completeZsh('machinectl sta')).to.have.members(['status', 'start']);
    expect(completeZsh('machinectl --no-')).to.have.members(['--no-pager', '--no-legend', '--no-ask-password']);
    expect(completeZsh('machinectl status ')).to.have.members(['box-a', 'box-b']);
    expect(completeZsh('machinectl -q remove img-')).to.have.members(['img-one', 'img-two']);
    expect(completeZsh('machinectl kill -s SIGK')).to.have.members(['SIGKILL']);
    expect(completeZsh('machinectl --kill-whom=')).to.have.members(['leader', 'all']);
    expect(completeZsh('machinectl -o ')).to.have.members(['short', 'json']);
  });
});
