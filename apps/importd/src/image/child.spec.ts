import { expect } from 'chai';
import { closeSync, openSync } from 'node:fs';
import { startTool } from './child.js';

describe('tools as child processes', () => {
  it('start with only their stdio open, whatever importd holds', async () => {
    // Like an fd received over D-Bus: open in importd, and not close-on-exec.
    const held = openSync('/etc/hostname', 'r');
    try {
      const tool = startTool('sh', ['-c', 'ls /proc/$$/fd'], ['ignore', 'pipe', 'pipe'], new AbortController().signal);
      let out = '';
      tool.child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      await tool.done;
      expect(out.split(/\s+/).filter(Boolean).sort()).to.deep.equal(['0', '1', '2']);
    } finally {
      closeSync(held);
    }
  });

  it('fail with the tool name, its exit status and its last stderr lines', async () => {
    const tool = startTool('sh', ['-c', 'echo first >&2; echo "xz: (stdin): Unexpected end of input" >&2; exit 1'], ['ignore', 'ignore', 'pipe'], new AbortController().signal);
    let err: Error | undefined;
    await tool.done.catch((e: Error) => (err = e));
    expect(err?.message).to.equal('sh exited with status 1: first; xz: (stdin): Unexpected end of input');
  });

  it('end on abort, the whole process group', async () => {
    const ac = new AbortController();
    const tool = startTool('sh', ['-c', 'sleep 30 & wait'], ['ignore', 'ignore', 'pipe'], ac.signal);
    setTimeout(() => ac.abort(), 50);
    let err: Error | undefined;
    await tool.done.catch((e: Error) => (err = e));
    expect(err?.message).to.match(/killed by SIGTERM/);
  });
});
