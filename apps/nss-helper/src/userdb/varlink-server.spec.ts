import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VarlinkError } from './varlink-errors.js';
import { VarlinkServer } from './varlink-server.js';

/** Sends raw messages on a fresh connection and returns every reply until `count` arrived. */
function exchange(path: string, messages: unknown[], count: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    const out: unknown[] = [];
    s.on('connect', () => {
      for (const m of messages) s.write(`${JSON.stringify(m)}\0`);
    });
    s.on('data', (d) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\0')) >= 0) {
        out.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
      if (out.length >= count) {
        s.destroy();
        resolve(out);
      }
    });
    s.on('error', reject);
  });
}

describe('varlink server', () => {
  let dir: string;
  let server: VarlinkServer;
  let path: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'varlink-spec-'));
    path = join(dir, 'sock');
    server = new VarlinkServer({
      info: { vendor: 'v', product: 'p', version: '1', url: 'u' },
      interfaces: [
        {
          name: 'org.example.test',
          description: 'interface org.example.test\n',
          methods: {
            Count: (p, ctx) => {
              const n = p.n as number;
              if (ctx.more) for (let i = 0; i < n - 1; i++) ctx.notify({ i });
              return { i: n - 1 };
            },
            Slow: async (p) => {
              await new Promise((r) => setTimeout(r, p.ms as number));
              return { slept: p.ms };
            },
            Fail: () => {
              throw new VarlinkError('org.example.test.Broken', { why: 'asked to' });
            },
            Crash: () => {
              throw new Error('bug');
            },
          },
        },
      ],
    });
    await server.listen(path);
  });

  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("streams replies with 'more': continues on all but the last", async () => {
    expect(await exchange(path, [{ method: 'org.example.test.Count', parameters: { n: 3 }, more: true }], 3)).to.deep.equal([
      { parameters: { i: 0 }, continues: true },
      { parameters: { i: 1 }, continues: true },
      { parameters: { i: 2 } },
    ]);
    // Without 'more' the same method answers once.
    expect(await exchange(path, [{ method: 'org.example.test.Count', parameters: { n: 3 } }], 1)).to.deep.equal([{ parameters: { i: 2 } }]);
  });

  it('keeps call order even when an earlier handler is slower', async () => {
    const replies = await exchange(
      path,
      [
        { method: 'org.example.test.Slow', parameters: { ms: 30 } },
        { method: 'org.example.test.Slow', parameters: { ms: 0 } },
      ],
      2,
    );
    expect(replies).to.deep.equal([{ parameters: { slept: 30 } }, { parameters: { slept: 0 } }]);
  });

  it('sends named errors with their parameters; unexpected failures as an errno', async () => {
    expect(await exchange(path, [{ method: 'org.example.test.Fail' }, { method: 'org.example.test.Crash' }], 2)).to.deep.equal([
      { error: 'org.example.test.Broken', parameters: { why: 'asked to' } },
      { error: 'io.systemd.System', parameters: { errno: 5 } },
    ]);
  });

  it('does not offer protocol upgrades', async () => {
    expect(await exchange(path, [{ method: 'org.example.test.Count', parameters: { n: 1 }, upgrade: true }], 1)).to.deep.equal([
      { error: 'org.varlink.service.MethodNotImplemented', parameters: { method: 'org.example.test.Count' } },
    ]);
  });

  it('lists its interfaces and refuses parameters GetInfo does not take', async () => {
    const [info, bad] = await exchange(path, [{ method: 'org.varlink.service.GetInfo' }, { method: 'org.varlink.service.GetInfo', parameters: { x: 1 } }], 2);
    expect(info).to.deep.equal({ parameters: { vendor: 'v', product: 'p', version: '1', url: 'u', interfaces: ['org.varlink.service', 'org.example.test'] } });
    expect(bad).to.deep.equal({ error: 'org.varlink.service.InvalidParameter', parameters: { parameter: 'x' } });
    const [d] = await exchange(path, [{ method: 'org.varlink.service.GetInterfaceDescription', parameters: { interface: 'org.varlink.service' } }], 1);
    expect((d as { parameters: { description: string } }).parameters.description).to.match(/^interface org\.varlink\.service$/m);
  });
});
