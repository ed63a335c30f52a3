import { expect } from 'chai';
import { ErrorNames, Machine1Actions, type Authorizer, type CallContext } from '@machined/protocol';
import type { Machine } from '../registry/machine.js';
import { ptyHandlers } from './pty-handlers.js';

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return { name: (e as { errorName: string }).errorName, message: (e as Error).message };
  }
  throw new Error('expected a failure');
};

describe('PTY, login and shell handlers', () => {
  const callerUid = (uid: number) => ({ caller: async () => ({ uid, pid: process.pid }) }) as unknown as CallContext;
  const machine = (over: Partial<Record<string, unknown>>) =>
    ({ name: 'box', class: 'container', isHost: false, leader: process.pid, uid: 0, ...over }) as unknown as Machine;
  let asked: Array<[string, Record<string, string>]>;
  const authorizer = {
    async authorize(_ctx: CallContext, action: string, details: Record<string, string>) {
      asked.push([action, details]);
    },
  } as unknown as Authorizer;
  const h = ptyHandlers({ authorizer, libexecDir: '/nonexistent' });
  beforeEach(() => {
    asked = [];
  });

  it('answers NotSupported for virtual machines, before authorizing', async () => {
    const vm = machine({ class: 'vm' });
    expect(await failure(h.OpenPTY(callerUid(0), vm))).to.deep.equal({ name: ErrorNames.NotSupported, message: 'Opening a PTY is only supported on container machines.' });
    expect((await failure(h.OpenLogin(callerUid(0), vm))).message).to.equal('Opening a login is only supported on container machines.');
    expect((await failure(h.OpenShell(callerUid(0), vm, '', '', [], []))).message).to.equal('Opening a shell is only supported on container machines.');
    expect(asked).to.deep.equal([]);
  });

  it('checks the arguments before authorizing, then asks for the shell action with upstream details', async () => {
    expect((await failure(h.OpenShell(callerUid(0), machine({}), '', 'sh', [], []))).name).to.equal(ErrorNames.InvalidArgs);
    expect(asked).to.deep.equal([]);
    await failure(h.OpenShell(callerUid(0), machine({}), 'alice', '/bin/ls', ['ls', '-l'], []));
    expect(asked).to.deep.equal([[Machine1Actions.shell, { machine: 'box', user: 'alice', program: '/bin/ls', command_line: 'ls -l' }]]);
  });

  it('uses the host- actions on .host', async () => {
    const host = machine({ name: '.host', class: 'host', isHost: true, leader: 1 });
    await failure(h.OpenPTY(callerUid(0), host));
    await failure(h.OpenLogin(callerUid(0), host));
    await failure(h.OpenShell(callerUid(0), host, '', '', [], []));
    expect(asked.map(([a]) => a)).to.deep.equal([Machine1Actions.hostOpenPty, Machine1Actions.hostLogin, Machine1Actions.hostShell]);
  });

  it("refuses a non-root owner a shell or login where the container's root is the host's [258]", async () => {
    const owned = machine({ uid: 1000 }); // its leader (this process) is in the host's user namespace
    expect(await failure(h.OpenShell(callerUid(1000), owned, '', '', [], []))).to.deep.equal({
      name: ErrorNames.AccessDenied,
      message: 'Only root may shell into the root user namespace',
    });
    expect((await failure(h.OpenLogin(callerUid(1000), owned))).message).to.equal('Only root may shell into the root user namespace');
    // Root itself still may (and then fails here only for want of the helper).
    expect((await failure(h.OpenShell(callerUid(0), owned, '', '', [], []))).message).to.include('/nonexistent/machined-pty is missing');
  });
});
