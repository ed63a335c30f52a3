import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorNames } from '@machined/protocol';
import { PTY_HELPER, openPtyWithHelper, parseHelperLine, ptyHelperArgs } from './pty-helper.js';

describe('machined-pty helper', () => {
  it('builds the command line: socket, mode, leader, cgroups, user, environment, then the command', () => {
    expect(
      ptyHelperArgs('/s', {
        mode: 'shell',
        leader: 42,
        cgroupProcs: ['/sys/fs/cgroup/unified/x/cgroup.procs'],
        user: 'alice',
        environment: ['TERM=xterm'],
        command: { path: '/bin/sh', argv: ['sh', '-c', 'id'] },
      }),
    ).to.deep.equal([
      '--socket', '/s', '--mode', 'shell', '--leader', '42', '--cgroup-procs', '/sys/fs/cgroup/unified/x/cgroup.procs',
      '--user', 'alice', '--env', 'TERM=xterm', '--', '/bin/sh', 'sh', '-c', 'id',
    ]);
    expect(ptyHelperArgs('/s', { mode: 'pty' })).to.deep.equal(['--socket', '/s', '--mode', 'pty']);
  });

  it('reads its answers', () => {
    expect(parseHelperLine('OK /dev/pts/7')).to.deep.equal({ ok: true, path: '/dev/pts/7' });
    expect(parseHelperLine('ERR ENOENT cannot open /dev/ptmx: No such file or directory')).to.deep.equal({
      ok: false,
      errno: 'ENOENT',
      text: 'cannot open /dev/ptmx: No such file or directory',
    });
    expect(parseHelperLine('')).to.include({ ok: false, errno: 'EIO' });
    expect(parseHelperLine('OK ../../etc/passwd')).to.include({ ok: false });
  });

  describe('built from native/machined-pty.c, on the host (no namespace entered)', function () {
    this.timeout(30000);
    let dir: string;
    before(function () {
      dir = mkdtempSync(join(tmpdir(), 'machined-pty-spec-'));
      const src = fileURLToPath(new URL('../../native/machined-pty.c', import.meta.url));
      execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-D_GNU_SOURCE', '-o', join(dir, PTY_HELPER), src]);
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('hands back a PTY master and its path', async () => {
      const pty = await openPtyWithHelper(dir, { mode: 'pty' }, 'test');
      expect(pty.path).to.match(/^\/dev\/pts\/\d+$/);
      expect(pty.fd).to.be.greaterThan(2);
      closeSync(pty.fd);
    });

    it('starts a shell on it, and reports a missing user or program', async () => {
      const pty = await openPtyWithHelper(dir, { mode: 'shell', command: { path: '/bin/true', argv: ['true'] } }, 'test');
      closeSync(pty.fd);
      const noUser = await openPtyWithHelper(dir, { mode: 'shell', user: 'no-such-user-x' }, 'Cannot').catch((e: unknown) => e);
      expect(noUser).to.include({ errorName: ErrorNames.Failed, message: "Cannot: no user 'no-such-user-x' in the machine's /etc/passwd" });
      const noProgram = await openPtyWithHelper(dir, { mode: 'shell', command: { path: '/nonexistent', argv: ['x'] } }, 'Cannot').catch((e: unknown) => e);
      expect(noProgram).to.include({ errorName: ErrorNames.FileNotFound });
      expect((noProgram as Error).message).to.match(/^Cannot: cannot execute \/nonexistent: No such file or directory$/);
    });

    it('says where the helper is missing', async () => {
      const e = await openPtyWithHelper('/nonexistent', { mode: 'pty' }, 'x').catch((err: unknown) => err);
      expect((e as Error).message).to.include('/nonexistent/machined-pty is missing or not executable');
    });
  });
});
