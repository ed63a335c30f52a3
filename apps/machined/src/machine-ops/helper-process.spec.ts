import { expect } from 'chai';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorNames } from '@machined/protocol';
import { runLibexecHelper } from './helper-process.js';

describe('runLibexecHelper', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'machined-libexec-'));
    // Stand-ins with the helpers' contract: exit status = errno, one line on stderr.
    const script = (name: string, body: string) => {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(dir, name), 0o755);
    };
    script('ok', 'exit 0');
    script('exists', 'echo "machined-copy: /srv/x already exists in the machine: File exists" >&2; exit 17');
    script('notdir', 'echo "machined-mount: cannot mount: Not a directory" >&2; exit 20');
    script('killed', 'kill -9 $$');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const failure = async (helper: string) => {
    try {
      await runLibexecHelper(dir, helper, []);
    } catch (e) {
      return { name: (e as { errorName: string }).errorName, message: (e as Error).message };
    }
    throw new Error('expected a failure');
  };

  it('succeeds on exit 0', async () => {
    await runLibexecHelper(dir, 'ok', ['a', 'b']);
  });

  it("names the error as sd-bus names the helper's errno, with its message", async () => {
    expect(await failure('exists')).to.deep.equal({ name: ErrorNames.FileExists, message: '/srv/x already exists in the machine: File exists' });
    expect(await failure('notdir')).to.deep.equal({ name: 'System.Error.ENOTDIR', message: 'cannot mount: Not a directory' });
  });

  it('reports a helper killed by a signal, and a missing helper, as Failed', async () => {
    expect((await failure('killed')).name).to.equal(ErrorNames.Failed);
    const missing = await failure('machined-nothing');
    expect(missing.name).to.equal(ErrorNames.Failed);
    expect(missing.message).to.match(/machined-nothing is missing/);
  });
});
