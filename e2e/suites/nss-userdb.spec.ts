/**
 * Users and groups of user-namespaced containers through systemd's userdb API: nss-helper serves
 * io.systemd.UserDatabase on /run/systemd/userdb/io.systemd.Machine (a private tmpfs inside
 * run-in-namespace.sh), and Debian's own clients resolve the records: glibc through nss-systemd
 * (`passwd: files systemd` in the unchanged /etc/nsswitch.conf) and userdbctl. Leaders live in
 * their own user namespaces (0 → SHIFT for 65536 IDs) and are registered with our machined.
 */
import { expect } from 'chai';
import { machineObjectPath } from '@machined/protocol';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  REPO_ROOT,
  callManager,
  copyBusyboxRootfs,
  createMachine,
  inTestNamespace,
  listMachineNames,
  mergeEnv,
  run,
  runAsNobody,
  spawnLeader,
  spawnNspawn,
  startDaemon,
  testMachineName,
  track,
  trackPath,
  useStack,
  waitUntil,
  type DaemonProcess,
  type RunResult,
} from '../support/index.js';

const HELPER = join(REPO_ROOT, 'apps/nss-helper/dist/bin/nss-helper.mjs');
const USERDB_DIR = '/run/systemd/userdb';
const USERDB_SOCKET = join(USERDB_DIR, 'io.systemd.Machine');
const MULTIPLEXER = join(USERDB_DIR, 'io.systemd.Multiplexer');
const SERVICE = 'io.systemd.Machine';

/** nss-systemd and userdbctl honour these; none may leak in from the caller's environment. */
const CLIENT_ENV = { SYSTEMD_BYPASS_USERDB: undefined, SYSTEMD_ONLY_USERDB: undefined, SYSTEMD_NSS_BYPASS_SYNTHETIC: undefined, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' };
const client = (cmd: string, args: string[]): Promise<RunResult> => run(cmd, args, { env: CLIENT_ENV });

/** A leader in its own user namespace, mapped 0..65535 → shift..shift+65535 (root may write any map). */
async function userNamespaceLeader(shift: number): Promise<ChildProcess> {
  const leader = track(spawn('unshare', ['--user', '--', 'sh', '-c', 'read go; exec sleep 1000'], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] }));
  await new Promise((r) => leader.once('spawn', r));
  await waitUntil(() => readFileSync(`/proc/${leader.pid}/status`, 'utf8').length > 0 && readFileSync(`/proc/${leader.pid}/uid_map`, 'utf8') === '', 'the user namespace');
  writeFileSync(`/proc/${leader.pid}/uid_map`, `0 ${shift} 65536\n`);
  writeFileSync(`/proc/${leader.pid}/gid_map`, `0 ${shift} 65536\n`);
  leader.stdin!.end('go\n');
  return leader;
}

/** A plain varlink client for the load test: one call at a time on one connection. */
class VarlinkClient {
  private buf = Buffer.alloc(0);
  private pending: { resolve: (reply: { parameters?: unknown; error?: string }) => void; reject: (e: Error) => void } | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('close', () => this.pending?.reject(new Error('connection closed during a call')));
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      const nul = this.buf.indexOf(0);
      if (nul < 0) return;
      const reply = JSON.parse(this.buf.subarray(0, nul).toString('utf8'));
      this.buf = this.buf.subarray(nul + 1);
      const p = this.pending;
      this.pending = null;
      p?.resolve(reply);
    });
  }

  static connect(path: string): Promise<VarlinkClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => resolve(new VarlinkClient(s)));
      s.once('error', reject);
    });
  }

  call(method: string, parameters: object): Promise<{ parameters?: unknown; error?: string }> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(`${JSON.stringify({ method, parameters })}\0`);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function passwdLine(name: string, inner: number, machine: string, uid: number): string {
  return `${name}:x:${uid}:65534:UID ${inner} of Container ${machine}:/:/usr/sbin/nologin\n`;
}

describe('container users and groups through userdb (nss-helper, nss-systemd, userdbctl)', function () {
  this.timeout(120000);
  const stack = useStack({ extraArgs: ['--terminate-timeout', '5'] });
  let helper: DaemonProcess | null = null;
  const first = testMachineName('udb');
  const second = testMachineName('udb-two');
  const plain = testMachineName('udb-plain');
  const leaders: ChildProcess[] = [];

  const dir = trackPath(mkdtempSync(join(tmpdir(), 'nss-userdb-e2e-')));

  /** nss-helper with the real default userdb socket (MACHINED_USERDB_SOCKET unset). */
  async function startHelper(): Promise<DaemonProcess> {
    const h = await startDaemon({
      label: 'nss-helper',
      args: [HELPER, '--runtime-dir', stack.machined.runtimeDir, '--socket', join(dir, 'hosts.sock'), '--log-level', 'debug'],
      env: mergeEnv({ MACHINED_USERDB_SOCKET: undefined }),
      busAddress: stack.bus.address,
      busName: '',
      waitReady: false,
    });
    await waitUntil(() => h.logs().some((l) => l.includes('userdb: serving')), 'nss-helper to serve userdb', 20000);
    return h;
  }

  before(async () => {
    // The default socket path is the real one: only inside the namespace's private /run/systemd.
    if (!inTestNamespace()) throw new Error('nss-userdb.spec.ts runs only inside e2e/run-in-namespace.sh');
    if (!existsSync(HELPER)) throw new Error(`${HELPER} does not exist: run "npx nx run nss-helper:build" first`);
    helper = await startHelper();

    const a = await userNamespaceLeader(200000);
    const b = await userNamespaceLeader(300000);
    const c = await spawnLeader();
    leaders.push(a, b, c);
    await createMachine(stack.client, plain, c.pid!);
    await createMachine(stack.client, first, a.pid!);
    await createMachine(stack.client, second, b.pid!);
    // nss-helper learns of machines from machined's channel, in order: once it knows the last one,
    // it knows them all.
    await waitUntil(async () => (await client('getent', ['passwd', `vu-${second}-0`])).code === 0, 'nss-helper to know the containers', 20000);
  });

  after(async () => {
    for (const l of leaders) l.kill('SIGKILL');
    const exit = await helper?.stop();
    // A clean stop removes the socket (a test that failed mid-crash leaves the dead one's).
    if (exit?.code === 0) expect(existsSync(USERDB_SOCKET), 'nss-helper removes its socket').to.equal(false);
  });

  it('serves the socket where nss-systemd looks, readable by everyone', async () => {
    expect(statSync(USERDB_SOCKET).isSocket()).to.equal(true);
    expect(statSync(USERDB_SOCKET).mode & 0o777).to.equal(0o666);
    const services = await client('userdbctl', ['services', '--no-pager', '--no-legend']);
    expect(services.code, services.stderr).to.equal(0);
    expect(services.stdout).to.match(/^io\.systemd\.Machine\s+yes\s*$/m);
  });

  it('resolves container users by name and by host UID through glibc (getent passwd, nss-systemd)', async () => {
    const byName = await client('getent', ['passwd', `vu-${first}-0`]);
    expect(byName.code, byName.stderr).to.equal(0);
    expect(byName.stdout).to.equal(passwdLine(`vu-${first}-0`, 0, first, 200000));
    const byUid = await client('getent', ['passwd', '200000']);
    expect(byUid.stdout).to.equal(passwdLine(`vu-${first}-0`, 0, first, 200000));
    // Other IDs of the same container, and the right container for each number.
    expect((await client('getent', ['passwd', `vu-${first}-1000`])).stdout).to.equal(passwdLine(`vu-${first}-1000`, 1000, first, 201000));
    expect((await client('getent', ['passwd', '300007'])).stdout).to.equal(passwdLine(`vu-${second}-7`, 7, second, 300007));
    // An unprivileged program sees the same (the socket is 0666).
    const nobody = await runAsNobody('getent', ['passwd', `vu-${second}-65534`], { env: CLIENT_ENV });
    expect(nobody.stdout).to.equal(passwdLine(`vu-${second}-65534`, 65534, second, 365534));
  });

  it('resolves container groups by name and by host GID (getent group)', async () => {
    const byName = await client('getent', ['group', `vg-${first}-0`]);
    expect(byName.code, byName.stderr).to.equal(0);
    expect(byName.stdout).to.equal(`vg-${first}-0:x:200000:\n`);
    expect((await client('getent', ['group', '200000'])).stdout).to.equal(`vg-${first}-0:x:200000:\n`);
    expect((await client('getent', ['group', '300005'])).stdout).to.equal(`vg-${second}-5:x:300005:\n`);
  });

  it('shows the JSON records through userdbctl, from our service and through the default path', async () => {
    const user = {
      userName: `vu-${first}-0`,
      uid: 200000,
      gid: 65534,
      realName: `UID 0 of Container ${first}`,
      homeDirectory: '/',
      shell: '/usr/sbin/nologin',
      locked: true,
      service: SERVICE,
      disposition: 'container',
    };
    for (const args of [['user', `vu-${first}-0`], ['-s', SERVICE, '-N', 'user', `vu-${first}-0`], ['-s', SERVICE, '-N', 'user', '200000']]) {
      const r = await client('userdbctl', ['--no-pager', '-j', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
      expect(JSON.parse(r.stdout)).to.deep.equal(user);
    }
    const group = await client('userdbctl', ['--no-pager', '-j', 'group', `vg-${first}-0`]);
    expect(group.code, group.stderr).to.equal(0);
    expect(JSON.parse(group.stdout)).to.deep.equal({ groupName: `vg-${first}-0`, gid: 200000, description: `GID 0 of Container ${first}`, service: SERVICE, disposition: 'container' });
    const friendly = await client('userdbctl', ['--no-pager', 'user', `vu-${first}-0`]);
    expect(friendly.stdout).to.match(/Disposition: container/).and.match(/Service: io\.systemd\.Machine/);
  });

  it("answers what upstream answers for memberships, enumeration and IDs no container owns", async () => {
    const memberships = await client('userdbctl', ['--no-pager', 'groups-of-user', `vu-${first}-0`]);
    expect(memberships.code, memberships.stderr).to.equal(0);
    expect(memberships.stdout).to.match(/No memberships/);
    // EnumerationNotSupported: userdbctl reports it as EOPNOTSUPP.
    const listing = await client('userdbctl', ['--no-pager', '-s', SERVICE, '-N', 'user']);
    expect(listing.code).to.equal(1);
    expect(listing.stderr).to.match(/Operation not supported/);
    // Outside the map, in the host range, and a container without a user namespace (not root!).
    for (const key of [`vu-${first}-65536`, '265536', `vu-${plain}-0`, `vu-nosuchmachine-0`]) {
      const r = await client('getent', ['passwd', key]);
      expect(r.code, `${key}: ${r.stdout}`).to.equal(2);
    }
    expect((await client('getent', ['group', `vg-${plain}-0`])).code).to.equal(2);
    const missing = await client('userdbctl', ['--no-pager', 'user', `vu-${first}-65536`]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/does not exist/);
    // The host range belongs to the host (only our service asked: the host's own users exist).
    for (const id of ['0', '1000', '65533']) {
      const host = await client('userdbctl', ['--no-pager', '-s', SERVICE, '-N', 'user', id]);
      expect(host.code, `${id}: ${host.stdout}`).to.equal(1);
    }
  });

  it('answers through systemd-userdbd\'s multiplexer as well', async () => {
    const userdbd = track(spawn('/lib/systemd/systemd-userdbd', [], { detached: true, stdio: 'ignore' }));
    try {
      await waitUntil(() => existsSync(MULTIPLEXER), 'systemd-userdbd to listen', 20000);
      // -s io.systemd.Multiplexer: userdbd asks every service socket, ours included, for us.
      const r = await client('userdbctl', ['--no-pager', '-j', '--multiplexer=yes', '-s', 'io.systemd.Multiplexer', 'user', '300000']);
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout)).to.include({ userName: `vu-${second}-0`, uid: 300000, service: SERVICE });
      // nss-systemd prefers the multiplexer when it exists.
      expect((await client('getent', ['group', `vg-${second}-1`])).stdout).to.equal(`vg-${second}-1:x:300001:\n`);
      const none = await client('userdbctl', ['--no-pager', '--multiplexer=yes', 'user', `vu-${second}-70000`]);
      expect(none.code).to.equal(1);
    } finally {
      userdbd.kill('SIGTERM');
      await new Promise((r) => (userdbd.exitCode !== null || userdbd.signalCode !== null ? r(null) : userdbd.once('exit', r)));
      // Its sockets and links must not outlive it: later look-ups would try a dead multiplexer.
      for (const f of ['io.systemd.Multiplexer', 'io.systemd.DropIn', 'io.systemd.NameServiceSwitch']) rmSync(join(USERDB_DIR, f), { force: true });
    }
  });

  it('lets look-ups fall through while nss-helper is down, and takes its socket back after a crash', async () => {
    await helper!.kill9();
    // The socket is left behind by the crash; clients find nobody listening and report no record.
    expect(statSync(USERDB_SOCKET).isSocket()).to.equal(true);
    expect((await client('getent', ['passwd', `vu-${second}-0`])).code).to.equal(2);
    expect((await client('getent', ['passwd', 'root'])).stdout).to.match(/^root:x:0:0:/);
    helper = await startHelper();
    await waitUntil(async () => (await client('getent', ['passwd', `vu-${second}-0`])).code === 0, 'the restarted nss-helper to answer', 20000);
    expect((await client('getent', ['passwd', '200000'])).stdout).to.equal(passwdLine(`vu-${first}-0`, 0, first, 200000));
  });

  it('names the files and processes of a real systemd-nspawn --private-users container (stat, ps)', async () => {
    // nspawn chowns the tree only for shifts that are multiples of 2^16.
    const shift = 0x70000; // clear of the other containers' ranges (200000… and 300000…)
    const name = testMachineName('udb-nspawn');
    const rootfs = await copyBusyboxRootfs(join(dir, 'nspawn-root'));
    const c = spawnNspawn({
      name,
      rootfs,
      busAddress: stack.bus.address,
      extraArgs: [`--private-users=${shift}:65536`, '--private-users-ownership=chown'],
      command: ['/bin/sh', '-c', 'sleep 1000 & wait'],
    });
    try {
      await waitUntil(async () => (await listMachineNames(stack.client)).includes(name), 'nspawn to register', 30000);
      const [leader] = await stack.client.call('org.freedesktop.machine1', machineObjectPath(name), 'org.freedesktop.DBus.Properties', 'Get', 'ss', ['org.freedesktop.machine1.Machine', 'Leader']);
      await waitUntil(async () => (await client('getent', ['passwd', `vu-${name}-0`])).code === 0, 'nss-helper to know the nspawn container', 20000);
      expect((await client('getent', ['passwd', String(shift)])).stdout).to.equal(passwdLine(`vu-${name}-0`, 0, name, shift));
      // Real programs show the container's owners by name: the leader runs as the container's root…
      const ps = await client('ps', ['-o', 'user:40=,group:40=', '-p', String(leader.value)]);
      expect(ps.stdout.trim().split(/\s+/)).to.deep.equal([`vu-${name}-0`, `vg-${name}-0`]);
      // …and the chowned tree belongs to it.
      const st = await client('stat', ['-c', '%U:%G', join(rootfs, 'bin')]);
      expect(st.stdout.trim()).to.equal(`vu-${name}-0:vg-${name}-0`);
      await callManager(stack.client, 'TerminateMachine', [name]);
      await waitUntil(async () => (await client('getent', ['passwd', `vu-${name}-0`])).code === 2, 'the nspawn container\'s users to disappear', 20000);
      // stat's word for an owner without a name.
      expect((await client('stat', ['-c', '%U', join(rootfs, 'bin')])).stdout.trim()).to.equal('UNKNOWN');
    } finally {
      await callManager(stack.client, 'TerminateMachine', [name]).catch(() => {});
      c.child.kill('SIGKILL');
      await c.exited;
    }
  });

  it('gives only right answers or NoRecordFound while a container comes and goes (32 parallel clients)', async () => {
    const churn = testMachineName('udb-churn');
    // Each round registers the same name with another shift: an answer from an older round's map
    // after the machine changed would be a wrong answer.
    const shifts = [0x100000, 0x110000, 0x120000, 0x130000];
    let current: number | null = null;
    let done = false;
    const wrong: string[] = [];
    let answered = 0;
    const worker = async (k: number) => {
      const c = await VarlinkClient.connect(USERDB_SOCKET);
      try {
        while (!done) {
          const byName = await c.call('io.systemd.UserDatabase.GetUserRecord', { userName: `vu-${churn}-${k}`, service: SERVICE });
          const seen = current;
          if (byName.error === undefined) {
            const uid = (byName.parameters as { record: { uid: number } }).record.uid;
            if (!shifts.some((s) => uid === s + k)) wrong.push(`vu-${churn}-${k} → ${uid}`);
          } else if (byName.error !== 'io.systemd.UserDatabase.NoRecordFound') wrong.push(`vu-${churn}-${k}: ${byName.error}`);
          // The container that stays must never vanish or change.
          const stable = await c.call('io.systemd.UserDatabase.GetGroupRecord', { gid: 300000 + k, service: SERVICE });
          const name = (stable.parameters as { record?: { groupName: string } }).record?.groupName;
          if (name !== `vg-${second}-${k}`) wrong.push(`gid ${300000 + k} → ${name ?? stable.error} (round shift ${seen})`);
          answered += 2;
        }
      } finally {
        c.close();
      }
    };
    const workers = Array.from({ length: 32 }, (_, k) => worker(k));
    try {
      for (const shift of shifts) {
        const leader = await userNamespaceLeader(shift);
        leaders.push(leader);
        await createMachine(stack.client, churn, leader.pid!);
        current = shift;
        await waitUntil(async () => (await client('getent', ['passwd', String(shift)])).stdout.startsWith(`vu-${churn}-0:`), `round ${shift.toString(16)} to be seen`, 20000);
        await callManager(stack.client, 'TerminateMachine', [churn]);
        await waitUntil(async () => (await client('getent', ['passwd', `vu-${churn}-0`])).code === 2, `round ${shift.toString(16)} to be gone`, 20000);
        current = null;
      }
    } finally {
      done = true;
      await Promise.all(workers);
    }
    expect(wrong).to.deep.equal([]);
    expect(answered).to.be.greaterThan(64);
  });

  it('forgets the users and groups of a container once it stops', async () => {
    await callManager(stack.client, 'TerminateMachine', [first]);
    await waitUntil(async () => (await client('getent', ['passwd', `vu-${first}-0`])).code === 2, 'the user to disappear', 20000);
    expect((await client('getent', ['passwd', '200000'])).code).to.equal(2);
    expect((await client('getent', ['group', `vg-${first}-0`])).code).to.equal(2);
    expect((await client('getent', ['group', '200000'])).code).to.equal(2);
    const gone = await client('userdbctl', ['--no-pager', '-s', SERVICE, '-N', 'user', `vu-${first}-0`]);
    expect(gone.code).to.equal(1);
    expect(gone.stderr).to.match(/does not exist/);
    // The other container is untouched.
    expect((await client('getent', ['passwd', '300000'])).stdout).to.equal(passwdLine(`vu-${second}-0`, 0, second, 300000));
  });
});
