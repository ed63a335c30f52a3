import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_USERDB_SOCKET, type MachineSource, type SourceMachine, startUserdb, type UserdbService, userdbSocketFromEnv } from './index.js';

class FakeTable extends EventEmitter implements MachineSource {
  machines: SourceMachine[] = [];
  list(): SourceMachine[] {
    return this.machines;
  }
}

/** A raw varlink client: writes what it is given, collects NUL-terminated replies. */
class RawClient {
  private buf = Buffer.alloc(0);
  private replies: unknown[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (let i = this.buf.indexOf(0); i >= 0; i = this.buf.indexOf(0)) {
        this.replies.push(JSON.parse(this.buf.subarray(0, i).toString('utf8')));
        this.buf = this.buf.subarray(i + 1);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(msg: unknown): void {
    this.socket.write(typeof msg === 'string' ? `${msg}\0` : `${JSON.stringify(msg)}\0`);
  }

  async next(n = 1): Promise<unknown[]> {
    while (this.replies.length < n) {
      if (this.closed) throw new Error(`connection closed after ${this.replies.length} of ${n} replies`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return this.replies.splice(0, n);
  }

  async call(method: string, parameters: unknown, flags: Record<string, boolean> = {}): Promise<unknown> {
    this.send({ method, parameters, ...flags });
    return (await this.next())[0];
  }

  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }

  close(): void {
    this.socket.destroy();
  }
}

const SERVICE = 'io.systemd.Machine';
const USER = 'io.systemd.UserDatabase.GetUserRecord';
const GROUP = 'io.systemd.UserDatabase.GetGroupRecord';

describe('userdb varlink service', () => {
  let dir: string;
  let socketPath: string;
  let table: FakeTable;
  let service: UserdbService | null;
  let client: RawClient;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'userdb-spec-'));
    const proc = join(dir, 'proc');
    for (const [pid, map] of [['10', '0 200000 65536\n'], ['11', '0 0 4294967295\n']] as const) {
      mkdirSync(join(proc, pid), { recursive: true });
      writeFileSync(join(proc, pid, 'uid_map'), map);
      writeFileSync(join(proc, pid, 'gid_map'), map);
    }
    table = new FakeTable();
    table.machines = [{ name: 'my-box', leader: 10, class: 'container' }, { name: 'plain', leader: 11, class: 'container' }];
    socketPath = join(dir, 'userdb', SERVICE);
    service = await startUserdb({ table, socketPath, procRoot: proc });
    client = await RawClient.connect(socketPath);
  });

  afterEach(async () => {
    client?.close();
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the socket mode 0666 in a directory it creates', () => {
    expect(statSync(socketPath).mode & 0o777).to.equal(0o666);
    expect(statSync(join(dir, 'userdb')).mode & 0o777).to.equal(0o755);
  });

  it('answers user records by name and by number, as machined builds them', async () => {
    const record = {
      userName: 'vu-my-box-0',
      uid: 200000,
      gid: 65534,
      realName: 'UID 0 of Container my-box',
      homeDirectory: '/',
      shell: '/usr/sbin/nologin',
      locked: true,
      service: SERVICE,
      disposition: 'container',
    };
    expect(await client.call(USER, { userName: 'vu-my-box-0', service: SERVICE })).to.deep.equal({ parameters: { record } });
    expect(await client.call(USER, { uid: 200000, service: SERVICE })).to.deep.equal({ parameters: { record } });
    expect(await client.call(USER, { uid: 200000, userName: 'vu-my-box-0', service: SERVICE })).to.deep.equal({ parameters: { record } });
    // Field order is upstream's too.
    const reply = (await client.call(USER, { uid: 200000, service: SERVICE })) as { parameters: { record: object } };
    expect(Object.keys(reply.parameters.record)).to.deep.equal(Object.keys(record));
  });

  it('answers group records by name and by number', async () => {
    const record = { groupName: 'vg-my-box-5', gid: 200005, description: 'GID 5 of Container my-box', service: SERVICE, disposition: 'container' };
    expect(await client.call(GROUP, { groupName: 'vg-my-box-5', service: SERVICE })).to.deep.equal({ parameters: { record } });
    expect(await client.call(GROUP, { gid: 200005, service: SERVICE })).to.deep.equal({ parameters: { record } });
  });

  it("gives upstream's errors", async () => {
    const err = (error: string) => ({ error, parameters: {} });
    expect(await client.call(USER, { userName: 'vu-my-box-0' })).to.deep.equal(err('io.systemd.UserDatabase.BadService'));
    expect(await client.call(USER, { userName: 'vu-my-box-0', service: 'io.systemd.Home' })).to.deep.equal(err('io.systemd.UserDatabase.BadService'));
    expect(await client.call(USER, { service: SERVICE })).to.deep.equal(err('io.systemd.UserDatabase.EnumerationNotSupported'));
    expect(await client.call(GROUP, { service: SERVICE }, { more: true })).to.deep.equal(err('io.systemd.UserDatabase.EnumerationNotSupported'));
    expect(await client.call(USER, { userName: 'root', service: SERVICE })).to.deep.equal(err('io.systemd.UserDatabase.NoRecordFound'));
    expect(await client.call(USER, { uid: 0, service: SERVICE })).to.deep.equal(err('io.systemd.UserDatabase.NoRecordFound'));
    expect(await client.call(USER, { uid: 900000, service: SERVICE })).to.deep.equal(err('io.systemd.UserDatabase.NoRecordFound'));
    expect(await client.call(USER, { userName: 'vu-plain-0', service: SERVICE })).to.deep.equal(err('io.systemd.UserDatabase.NoRecordFound'));
    expect(await client.call(USER, { userName: 'vu-gone-0', service: SERVICE })).to.deep.equal(err('io.systemd.UserDatabase.NoRecordFound'));
    expect(await client.call(USER, { uid: 200001, userName: 'vu-my-box-0', service: SERVICE })).to.deep.equal(err('io.systemd.UserDatabase.ConflictingRecordFound'));
    expect(await client.call(GROUP, { gid: 200000, groupName: 'vg-my-box-1', service: SERVICE })).to.deep.equal(err('io.systemd.UserDatabase.ConflictingRecordFound'));
    expect(await client.call('io.systemd.UserDatabase.GetMemberships', { userName: 'vu-my-box-0', service: SERVICE }, { more: true })).to.deep.equal(err('io.systemd.UserDatabase.NoRecordFound'));
    expect(await client.call('io.systemd.UserDatabase.GetMemberships', { service: 'x' })).to.deep.equal(err('io.systemd.UserDatabase.BadService'));
  });

  it('refuses bad parameters naming the field', async () => {
    const invalid = (parameter: string) => ({ error: 'org.varlink.service.InvalidParameter', parameters: { parameter } });
    expect(await client.call(USER, { uid: -1, service: SERVICE })).to.deep.equal(invalid('uid'));
    expect(await client.call(USER, { uid: 65535, service: SERVICE })).to.deep.equal(invalid('uid'));
    expect(await client.call(USER, { uid: '200000', service: SERVICE })).to.deep.equal(invalid('uid'));
    expect(await client.call(USER, { userName: 5, service: SERVICE })).to.deep.equal(invalid('userName'));
    expect(await client.call(USER, { userName: 'a"b', service: SERVICE })).to.deep.equal(invalid('userName'));
    expect(await client.call(USER, { gid: 5, service: SERVICE })).to.deep.equal(invalid('gid'));
    expect(await client.call(GROUP, { service: 7 })).to.deep.equal(invalid('service'));
    // null means "not given"
    expect(await client.call(USER, { uid: null, userName: 'vu-my-box-0', service: SERVICE })).to.have.nested.property('parameters.record.uid', 200000);
  });

  it('follows the machine table: a machine that is gone owns nothing', async () => {
    expect(await client.call(USER, { uid: 200000, service: SERVICE })).to.have.property('parameters');
    table.machines = [];
    table.emit('changed');
    expect(await client.call(USER, { uid: 200000, service: SERVICE })).to.deep.equal({ error: 'io.systemd.UserDatabase.NoRecordFound', parameters: {} });
  });

  it('answers pipelined calls in order, skips oneway calls and closes after a half-close', async () => {
    client.send({ method: USER, parameters: { uid: 200001, service: SERVICE } });
    client.send({ method: USER, parameters: { uid: 200002, service: SERVICE }, oneway: true });
    client.send({ method: GROUP, parameters: { gid: 1, service: SERVICE } });
    client.send({ method: USER, parameters: { userName: 'vu-my-box-3', service: SERVICE }, more: true });
    client.socket.end();
    const replies = (await client.next(3)) as Array<{ parameters: { record?: { userName: string } }; error?: string }>;
    expect(replies.map((r) => r.error ?? r.parameters.record!.userName)).to.deep.equal(['vu-my-box-1', 'io.systemd.UserDatabase.NoRecordFound', 'vu-my-box-3']);
    await client.untilClosed();
  });

  it('describes itself through org.varlink.service', async () => {
    const info = (await client.call('org.varlink.service.GetInfo', {})) as { parameters: Record<string, unknown> };
    expect(info.parameters.interfaces).to.deep.equal(['org.varlink.service', 'io.systemd.UserDatabase']);
    for (const k of ['vendor', 'product', 'version', 'url']) expect(info.parameters[k]).to.be.a('string');
    const d = (await client.call('org.varlink.service.GetInterfaceDescription', { interface: 'io.systemd.UserDatabase' })) as { parameters: { description: string } };
    expect(d.parameters.description).to.match(/^interface io\.systemd\.UserDatabase$/m).and.match(/^method GetUserRecord\($/m).and.match(/^error EnumerationNotSupported \(\)$/m);
    expect(await client.call('org.varlink.service.GetInterfaceDescription', { interface: 'io.systemd.Nope' })).to.deep.equal({ error: 'org.varlink.service.InterfaceNotFound', parameters: { interface: 'io.systemd.Nope' } });
    expect(await client.call('org.varlink.service.GetInterfaceDescription', {})).to.deep.equal({ error: 'org.varlink.service.InvalidParameter', parameters: { parameter: 'interface' } });
    expect(await client.call('io.systemd.UserDatabase.Enumerate', {})).to.deep.equal({ error: 'org.varlink.service.MethodNotFound', parameters: { method: 'io.systemd.UserDatabase.Enumerate' } });
    expect(await client.call('io.systemd.Other.Method', {})).to.deep.equal({ error: 'org.varlink.service.MethodNotFound', parameters: { method: 'io.systemd.Other.Method' } });
  });

  it('drops a connection that breaks the protocol, and keeps serving others', async () => {
    client.send('{"method": oops');
    await client.untilClosed();
    const other = await RawClient.connect(socketPath);
    other.send({ method: USER, parameters: { uid: 200000, service: SERVICE }, bogus: 1 });
    await other.untilClosed();
    const third = await RawClient.connect(socketPath);
    expect(await third.call(USER, { uid: 200000, service: SERVICE })).to.have.property('parameters');
    third.close();
  });

  it('removes its socket on close, replaces a stale one, and refuses to start twice', async () => {
    let failure: Error | null = null;
    await startUserdb({ table, socketPath }).catch((e: Error) => (failure = e));
    expect(failure).to.match(/already listening/);
    client.close();
    await service!.close();
    service = null;
    expect(existsSync(socketPath)).to.equal(false);
    // A socket left behind by a dead server (bound, never unlinked) is taken over.
    const bound = spawnSync('/usr/bin/python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', socketPath]);
    expect(bound.status, bound.stderr.toString()).to.equal(0);
    expect(statSync(socketPath).isSocket()).to.equal(true);
    service = await startUserdb({ table, socketPath, procRoot: join(dir, 'proc') });
    client = await RawClient.connect(socketPath);
    expect(await client.call(USER, { uid: 200000, service: SERVICE })).to.have.property('parameters');
  });

  it('will not replace a file that is not a socket', async () => {
    const path = join(dir, 'notasocket', SERVICE);
    mkdirSync(join(dir, 'notasocket'));
    writeFileSync(path, 'data');
    let failure: Error | null = null;
    await startUserdb({ table, socketPath: path }).catch((e: Error) => (failure = e));
    expect(failure).to.match(/not a socket/);
  });
});

describe('userdb socket configuration', () => {
  it('defaults to where nss-systemd looks; MACHINED_USERDB_SOCKET overrides or (empty) turns it off', () => {
    expect(DEFAULT_USERDB_SOCKET).to.equal('/run/systemd/userdb/io.systemd.Machine');
    expect(userdbSocketFromEnv({})).to.equal(DEFAULT_USERDB_SOCKET);
    expect(userdbSocketFromEnv({ MACHINED_USERDB_SOCKET: '/tmp/x/io.systemd.Machine' })).to.equal('/tmp/x/io.systemd.Machine');
    expect(userdbSocketFromEnv({ MACHINED_USERDB_SOCKET: '' })).to.equal(null);
    expect(() => userdbSocketFromEnv({ MACHINED_USERDB_SOCKET: 'relative' })).to.throw(/not an absolute path/);
    expect(() => userdbSocketFromEnv({ MACHINED_USERDB_SOCKET: `/${'x'.repeat(120)}` })).to.throw(/longer than/);
  });
});
