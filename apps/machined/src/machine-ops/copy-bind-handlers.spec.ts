import { expect } from 'chai';
import { ErrorNames, type Authorizer, type CallContext } from '@machined/protocol';
import { OperationSlots } from '../images/operation-slots.js';
import type { Machine } from '../registry/machine.js';
import { copyBindHandlers } from './copy-bind-handlers.js';

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return { name: (e as { errorName: string }).errorName, message: (e as Error).message };
  }
  throw new Error('expected a failure');
};

describe('copy and bind-mount handlers', () => {
  const ctx = {} as CallContext;
  const vm = { name: 'vm1', class: 'vm', leader: 1, uid: 0 } as unknown as Machine;
  let asked: Array<Record<string, string>>;
  const authorizer = {
    async authorize(_ctx: CallContext, _action: string, details: Record<string, string>) {
      asked.push(details);
    },
  } as unknown as Authorizer;
  beforeEach(() => {
    asked = [];
  });

  it('refuses a copy with LimitsExceeded when every slot is taken, before anything else', async () => {
    const h = copyBindHandlers({ authorizer, libexecDir: '/nonexistent', slots: new OperationSlots(0) });
    expect(await failure(h.Copy(ctx, vm, 'to', 'relative', '', 0n))).to.deep.equal({
      name: ErrorNames.LimitsExceeded,
      message: 'Too many ongoing copies.',
    });
    expect(asked).to.deep.equal([]);
  });

  it('answers NotSupported for machines that are not containers, before authorizing', async () => {
    const h = copyBindHandlers({ authorizer, libexecDir: '/nonexistent' });
    expect((await failure(h.Copy(ctx, vm, 'from', '/a', '/b', 0n))).message).to.equal('Copying files is only supported on container machines.');
    expect((await failure(h.BindMount(ctx, vm, '/a', '/b', false, false))).message).to.equal('Bind mounting is only supported on container machines.');
    expect(asked).to.deep.equal([]);
  });

  it('checks flags and paths before authorizing, and passes machine, verb, src and dest to the authorizer', async () => {
    const ct = { name: 'ct1', class: 'container', leader: 2 ** 22 + 7, uid: 0 } as unknown as Machine;
    const h = copyBindHandlers({ authorizer, libexecDir: '/nonexistent' });
    expect((await failure(h.Copy(ctx, ct, 'to', '/a', '/b', 4n))).name).to.equal(ErrorNames.InvalidArgs);
    expect(asked).to.deep.equal([]);
    // Authorized, then the (missing) helper is reported.
    expect((await failure(h.Copy(ctx, ct, 'to', '/etc/hostname', '', 1n))).name).to.equal(ErrorNames.Failed);
    expect(asked).to.deep.equal([{ machine: 'ct1', verb: 'copy', src: '/etc/hostname', dest: '/etc/hostname' }]);
  });
});
