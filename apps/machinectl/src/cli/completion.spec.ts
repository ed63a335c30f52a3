import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../deploy/completion/bash/machinectl', import.meta.url));

/** What bash completes for the given words, with a stand-in machinectl on PATH for names. */
function complete(words: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'machinectl-completion-'));
  try {
    const fake = join(dir, 'machinectl');
    writeFileSync(
      fake,
      '#!/bin/sh\ncase "$*" in\n*list-images*) echo "img-one raw"; echo "img-two directory";;\n*list*) echo "box-a container"; echo "box-b vm";;\n*--signal=help*) printf "0\\nHUP\\nKILL\\n";;\nesac\n',
    );
    chmodSync(fake, 0o755);
    const cword = words.length - 1;
    const script = `source ${JSON.stringify(SCRIPT)}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${cword}; _machinectl; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = execFileSync('bash', ['-c', script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8' });
    return out.split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
