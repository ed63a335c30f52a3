/**
 * Our machinectl (apps/machinectl) beside Debian's real one (systemd 252), both against the same
 * machined on a private bus: golden comparisons of stdout and exit status for the listings and
 * property views, every verb of the first slice end to end, and the error paths (unknown machine,
 * verb or option, missing argument, bad signal, no bus, permission denied). Runs inside
 * run-in-namespace.sh, where real machinectl finds /run/systemd/system.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MACHINECTL_ENTRY,
  copyBusyboxRootfs,
  createMachine,
  listMachineNames,
  registerMachine,
  run,
  runAsNobody,
  spawnLeader,
  testMachineName,
  trackPath,
  useStack,
  waitUntil,
  type RunResult,
} from '../support/index.js';

const OURS = MACHINECTL_ENTRY;

/** The relative part of "Since: <time>; 14ms ago" (or Created:, Modified:) legitimately differs between two runs. */
const normalise = (s: string) => s.replace(/^(\t *[A-Z][A-Za-z ]*: [^;\n]+); [^;\n]+ ago$/gm, '$1; <relative>');

describe('our machinectl against the real one (golden comparisons and every verb)', function () {
  const stack = useStack({ stateDir: trackPath(mkdtempSync(join(tmpdir(), 'machinectl-cli-state-'))) });
  const env = () => ({ DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0', NODE_EXTRA_CA_CERTS: undefined, TZ: 'UTC' });
  const real = (...args: string[]) => run('machinectl', ['--no-pager', ...args], { env: env() });
  const ours = (...args: string[]) => run(process.execPath, [OURS, '--no-pager', ...args], { env: env() });

  /** Runs both and asserts identical stdout and exit status; returns ours. */
  async function golden(...args: string[]): Promise<RunResult> {
    const [r, o] = await Promise.all([real(...args), ours(...args)]);
    expect(normalise(o.stdout), `stdout of machinectl ${args.join(' ')}\nreal stderr: ${r.stderr}\nour stderr: ${o.stderr}`).to.equal(normalise(r.stdout));
    expect(o.code, `exit status of machinectl ${args.join(' ')} (our stderr: ${o.stderr})`).to.equal(r.code);
    return o;
  }

  /** Same, and also identical stderr (error paths, where the message is the output). */
  async function goldenWithStderr(...args: string[]): Promise<RunResult> {
    const [r, o] = await Promise.all([real(...args), ours(...args)]);
    expect(o.stderr, `stderr of machinectl ${args.join(' ')}`).to.equal(r.stderr);
    expect(o.stdout).to.equal(r.stdout);
    expect(o.code).to.equal(r.code);
    return o;
  }

  describe('with an empty registry', () => {
    it('list prints "No machines." (and nothing with --no-legend, [] with -o json)', async () => {
      expect((await golden('list')).stdout).to.equal('No machines.\n');
      expect((await golden('list', '--no-legend')).stdout).to.equal('');
      expect((await golden('list', '-o', 'json')).stdout).to.equal('[]\n');
      await golden('list', '-o', 'json-pretty');
      await golden();
    });

    it('list --all shows the host', async () => {
      expect((await golden('list', '--all')).stdout).to.match(/^\.host\s+host\s/m);
      await golden('list', '--all', '--no-legend');
      await golden('list', '-a', '-o', 'json');
    });

    it('list-images on an empty pool, show and image-status of the manager', async () => {
      const images = await golden('list-images');
      if (images.code === 0) expect(images.stdout).to.equal('No images.\n');
      else expect(images.stderr).to.match(/^Could not get images: .+\n$/);
      await golden('list-images', '--no-legend');
      expect((await golden('show')).stdout).to.match(/^PoolPath=\/var\/lib\/machines\n/);
      await golden('show', '-a');
      await golden('show', '-p', 'PoolPath', '--value');
      await golden('show-image');
      await golden('image-status');
    });
  });

  describe('with machines', () => {
    const names: string[] = [];
    before(async () => {
      const id = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
      const a = await spawnLeader();
      const b = await spawnLeader();
      const c = await spawnLeader();
      names.push(testMachineName('gold-b'), testMachineName('gold-a'), testMachineName('gold-vm'));
      await createMachine(stack.client, names[0]!, a.pid!, { id, service: 'systemd-nspawn', rootDirectory: '/srv/b' });
      await createMachine(stack.client, names[1]!, b.pid!, { service: 'e2e-a-much-longer-service-name' });
      await registerMachine(stack.client, names[2]!, c.pid!, { class: 'vm', service: '', id: Buffer.alloc(0) });
    });

    it('list, sorted, with and without the legend, --all and --max-addresses', async () => {
      const r = await golden('list');
      expect(r.stdout).to.match(/^\n3 machines listed\.\n$/m);
      await golden('list', '--no-legend');
      await golden('list', '--all');
      await golden('list', '--all', '--no-legend');
      await golden('list', '--max-addresses=0');
      await golden('list', '--max-addresses=all', '-l');
    });

    it('status NAME, several names, and the unit\'s process tree or its error', async () => {
      const r = await golden('status', names[0]!);
      expect(r.stdout).to.contain(`${names[0]}(00112233445566778899aabbccddeeff)\n`);
      expect(r.stdout).to.match(/\t  Leader: \d+ \(sleep\)\n/);
      await golden('status', names[0]!, names[2]!);
      await golden('status', names[1]!);
    });

    it('show NAME: plain, -p, --value, -a, -P, several names', async () => {
      const r = await golden('show', names[0]!);
      expect(r.stdout).to.contain(`Name=${names[0]}\n`);
      await golden('show', names[0]!, '-p', 'Leader', '-p', 'Class');
      expect((await golden('show', names[0]!, '-p', 'Name', '--value')).stdout).to.equal(`${names[0]}\n`);
      await golden('show', names[2]!, '-a');
      await golden('show', names[0]!, names[1]!, '-p', 'Name');
      await golden('show', names[2]!, '-p', 'NetworkInterfaces', '--value');
      // -P is newer than 252 (which rejects it): ours takes it as --value --property.
      expect((await ours('show', names[1]!, '-P', 'Service')).stdout).to.equal('e2e-a-much-longer-service-name\n');
    });

    it('-o json and -o json-pretty parse and carry the expected fields', async () => {
      const list = JSON.parse((await ours('list', '-o', 'json')).stdout) as Array<Record<string, unknown>>;
      expect(list.map((m) => m.machine)).to.deep.equal([...names].sort());
      expect(Object.keys(list[0]!)).to.deep.equal(['machine', 'class', 'service', 'os', 'version', 'addresses']);
      expect(list.find((m) => m.machine === names[2])).to.include({ class: 'vm', service: null });
      const pretty = JSON.parse((await ours('list', '-o', 'json-pretty', '--all')).stdout) as unknown[];
      expect(pretty).to.have.length(4);
      const show = JSON.parse((await ours('show', names[0]!, '-o', 'json')).stdout) as Record<string, unknown>;
      expect(show).to.include({ Name: names[0], Id: '00112233445566778899aabbccddeeff', Class: 'container', State: 'running' });
      const status = JSON.parse((await ours('status', names[0]!, '-o', 'json-pretty')).stdout) as Record<string, unknown>;
      expect(status).to.include({ name: names[0], class: 'container', service: 'systemd-nspawn', rootDirectory: '/srv/b', leaderCommand: 'sleep' });
      expect(status.since).to.be.a('number');
      const pool = JSON.parse((await ours('image-status', '-o', 'json')).stdout) as Record<string, unknown>;
      expect(pool).to.have.property('path', '/var/lib/machines');
      const images = await ours('list-images', '-o', 'json');
      if (images.code === 0) expect(JSON.parse(images.stdout)).to.be.an('array');
    });
  });

  describe('verbs that act on machines', () => {
    async function machine(label: string) {
      const leader = await spawnLeader();
      const name = testMachineName(label);
      await createMachine(stack.client, name, leader.pid!);
      return { leader, name };
    }
    const gone = (name: string) => waitUntil(async () => !(await listMachineNames(stack.client)).includes(name), `${name} to go`);

    it('terminate ends the machine', async () => {
      const { leader, name } = await machine('term');
      const r = await ours('terminate', name);
      expect(r.code, r.stderr).to.equal(0);
      await gone(name);
      await waitUntil(() => leader.signalCode !== null || leader.exitCode !== null, 'the leader to end');
    });

    it('reboot sends SIGINT to the leader, poweroff and stop SIGRTMIN+4', async () => {
      const a = await machine('reboot');
      expect((await ours('reboot', a.name)).code).to.equal(0);
      await waitUntil(() => a.leader.signalCode === 'SIGINT', 'SIGINT to arrive');
      const b = await machine('poweroff');
      const c = await machine('stop');
      expect((await ours('poweroff', b.name)).code).to.equal(0);
      expect((await ours('stop', c.name)).code).to.equal(0);
      // A sleep dies of SIGRTMIN+4; node may not name real-time signals, so watch the machines go.
      await gone(b.name);
      await gone(c.name);
    });

    it('kill: default SIGTERM to all, --kill-whom=leader -s USR1, numeric -s 9', async () => {
      const a = await machine('kill-usr1');
      expect((await ours('kill', '--kill-whom=leader', '-s', 'USR1', a.name)).code).to.equal(0);
      await waitUntil(() => a.leader.signalCode === 'SIGUSR1', 'SIGUSR1 to arrive');
      const b = await machine('kill-9');
      expect((await ours('kill', b.name, '-s', '9')).code).to.equal(0);
      await waitUntil(() => b.leader.signalCode === 'SIGKILL', 'SIGKILL to arrive');
      const c = await machine('kill-term');
      expect((await ours('kill', c.name)).code).to.equal(0);
      await waitUntil(() => c.leader.signalCode === 'SIGTERM', 'SIGTERM to arrive');
    });

    it('error paths print what upstream prints', async () => {
      for (const verb of ['terminate', 'poweroff', 'reboot', 'kill', 'status']) await goldenWithStderr(verb, 'no-such-machine');
      await goldenWithStderr('show', 'no-such-machine');
      await goldenWithStderr('kill', '--kill-whom=bad', (await machine('whom')).name);
      await goldenWithStderr('kill', '-s', 'FOO', 'x');
      await goldenWithStderr('kill', '-s', '65', 'x');
      await goldenWithStderr('frob');
      await goldenWithStderr('status');
      await goldenWithStderr('list', 'extra');
      await goldenWithStderr('rename', 'a');
      await goldenWithStderr('--frobnicate');
      await goldenWithStderr('-Z');
      await goldenWithStderr('-p');
      await goldenWithStderr('--property');
      await goldenWithStderr('-n', 'x');
      await goldenWithStderr('-o', 'bad');
      await goldenWithStderr('--max-addresses=x');
      await goldenWithStderr('read-only', 'x', 'maybe');
      await goldenWithStderr('set-limit', '10X');
    });

    it('listings that exit early print exactly what upstream prints', async () => {
      await goldenWithStderr('--help');
      await goldenWithStderr('-s', 'help');
      await goldenWithStderr('--signal=list');
      await goldenWithStderr('-o', 'help');
      await goldenWithStderr('--verify=help');
      const v = await ours('--version');
      expect(v.code).to.equal(0);
      expect(v.stdout).to.match(/^machinectl \S+ .*systemd 252/);
    });
  });

  describe('with a populated image pool', () => {
    // Images of every kind machined discovers: a directory with OS metadata, a read-only copy, a
    // raw file, a hidden directory. Names carry this run's prefix; all removed afterwards.
    const dir = testMachineName('gimg-dir');
    const ro = testMachineName('gimg-ro');
    const raw = testMachineName('gimg-raw');
    const hidden = `.${testMachineName('gimg-hidden')}`;
    const POOL = '/var/lib/machines';
    before(async function () {
      this.timeout(120_000);
      await copyBusyboxRootfs(join(POOL, dir));
      writeFileSync(join(POOL, dir, 'etc/hostname'), 'golden-host\n');
      writeFileSync(join(POOL, dir, 'etc/machine-id'), '00112233445566778899aabbccddeeff\n');
      writeFileSync(join(POOL, dir, 'etc/machine-info'), 'PRETTY_HOSTNAME="Golden Box"\nCHASSIS=container\n');
      await copyBusyboxRootfs(join(POOL, ro));
      await run('chmod', ['a-w', join(POOL, ro)]);
      writeFileSync(join(POOL, `${raw}.raw`), '');
      await run('truncate', ['-s', '16M', join(POOL, `${raw}.raw`)]);
      mkdirSync(join(POOL, hidden));
      for (const p of [dir, ro, `${raw}.raw`, hidden]) trackPath(join(POOL, p));
      // machined notices pool changes through its directory watch.
      await waitUntil(async () => (await real('list-images', '--all')).stdout.includes(hidden), 'the images to be listed');
    });
    after(async () => {
      await run('chmod', ['u+w', join(POOL, ro)]);
      for (const p of [dir, ro, `${raw}.raw`, hidden]) rmSync(join(POOL, p), { recursive: true, force: true });
    });

    it('list-images: plain, --all, --no-legend, -o json', async () => {
      // Other suites may leave images of their own in the shared pool: compare whole outputs
      // anyway (both programs see the same pool), and check ours are there.
      const o = await golden('list-images');
      expect(o.stdout).to.include(dir).and.include(ro).and.include(raw).and.not.include(hidden);
      await golden('list-images', '--all');
      await golden('list-images', '--no-legend');
      await golden('list-images', '-o', 'json');
    });

    it('image-status and show-image of each kind, with -p, --value and -a', async () => {
      for (const name of [dir, ro, raw, hidden]) {
        await golden('image-status', name);
        await golden('show-image', name);
      }
      await golden('image-status', dir, raw);
      await golden('show-image', dir, '-p', 'Name', '-p', 'ReadOnly');
      await golden('show-image', ro, '--value', '-p', 'ReadOnly');
      await golden('show-image', dir, '-a');
      await golden('show-image');
    });
  });

  describe('image, unit and transfer verbs (whatever the server answers, as upstream prints it)', () => {
    it('image verbs', async () => {
      await goldenWithStderr('image-status', 'no-such-image');
      await goldenWithStderr('show-image', 'no-such-image');
      await goldenWithStderr('remove', 'no-such-image');
      await goldenWithStderr('rename', 'no-such-image', 'other');
      await goldenWithStderr('clone', 'no-such-image', 'other');
      await goldenWithStderr('read-only', 'no-such-image');
      await goldenWithStderr('read-only', 'no-such-image', 'no');
      await goldenWithStderr('set-limit', '10G');
      await goldenWithStderr('set-limit', 'no-such-image', 'infinity');
      await goldenWithStderr('clean');
      await goldenWithStderr('clean', '--all');
    });

    it('start, enable, disable go through the image check and systemd1', async () => {
      await goldenWithStderr('start', 'no-such-image');
      await goldenWithStderr('enable', 'no-such-image');
      await goldenWithStderr('disable', 'no-such-image');
      await goldenWithStderr('start', 'not a valid name');
    });

    it('bind, copy-to, copy-from send their calls and report the answer', async () => {
      await goldenWithStderr('bind', 'no-such-machine', '/srv');
      await goldenWithStderr('copy-to', 'no-such-machine', '/etc/hostname');
      await goldenWithStderr('copy-from', '--force', 'no-such-machine', '/etc/hostname', '/tmp/x');
    });

    it('pull-tar and pull-raw check the URL and local name, then ask org.freedesktop.import1', async () => {
      await goldenWithStderr('pull-tar', 'https://example.com/foo.tar.xz');
      await goldenWithStderr('pull-raw', '--verify=no', 'https://example.com/a/b.raw.xz', 'bar');
      await goldenWithStderr('pull-tar', 'ftp://example.com/foo.tar');
      await goldenWithStderr('pull-raw', 'https://example.com/x.raw', 'not_a_name');
    });

    it('import-* and export-* check names and files, then pass the descriptor to org.freedesktop.import1', async () => {
      const dir = trackPath(mkdtempSync(join(tmpdir(), 'machinectl-cli-import-')));
      writeFileSync(join(dir, 'img.tar'), '');
      await goldenWithStderr('import-tar', join(dir, 'img.tar'));
      await goldenWithStderr('import-raw', join(dir, 'img.tar'), 'bar');
      await goldenWithStderr('import-fs', dir, 'fsimg');
      await goldenWithStderr('import-tar', join(dir, 'missing.tar'));
      await goldenWithStderr('import-tar', join(dir, 'img.tar'), 'not_a_name');
      await goldenWithStderr('import-tar', '-');
      await goldenWithStderr('export-tar', 'not_a_name', join(dir, 'out.tar'));
      await goldenWithStderr('export-raw', 'foo', join(dir, 'out.raw.xz'));
    });

    it('list-transfers and cancel-transfer ask org.freedesktop.import1', async () => {
      await goldenWithStderr('list-transfers');
      await goldenWithStderr('cancel-transfer', '1');
      await goldenWithStderr('cancel-transfer', 'x');
    });

    it('shell and login of an unknown machine fail as upstream (sessions: shell.spec.ts)', async () => {
      await goldenWithStderr('shell', 'foo');
      await goldenWithStderr('shell', 'bob@foo', '/bin/true');
      await goldenWithStderr('login', 'foo');
      await goldenWithStderr('login', '--uid=alice', 'foo');
      await goldenWithStderr('login', '-E', 'A=b', 'foo');
    });
  });

  describe('-H: the bus of another host through ssh and systemd-stdio-bridge', () => {
    it('lists and shows the same as upstream through a stand-in ssh that runs the bridge here', async () => {
      const dir = trackPath(mkdtempSync(join(tmpdir(), 'machinectl-cli-ssh-')));
      // ssh [-p PORT] -- HOST systemd-stdio-bridge [ARGS]: drop everything up to the host and run
      // the bridge locally on the test bus, which is what the remote end would do.
      writeFileSync(
        join(dir, 'ssh'),
        `#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done\nshift 2\nexec /usr/bin/systemd-stdio-bridge --bus-path="${stack.bus.address}" "$@"\n`,
        { mode: 0o755 },
      );
      const leader = await spawnLeader();
      const name = testMachineName('remote');
      await createMachine(stack.client, name, leader.pid!);
      const viaSsh = { ...env(), PATH: `${dir}:${process.env.PATH}`, DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent' };
      for (const args of [['list'], ['show', name, '-p', 'Name', '-p', 'Class'], ['list', '--no-legend']]) {
        const [r, o] = await Promise.all([
          run('machinectl', ['--no-pager', '-H', 'somehost', ...args], { env: viaSsh }),
          run(process.execPath, [OURS, '--no-pager', '-H', 'somehost', ...args], { env: viaSsh }),
        ]);
        expect(o.stdout, `${args.join(' ')}: ${o.stderr}`).to.equal(r.stdout);
        expect(o.code, o.stderr).to.equal(r.code).and.to.equal(0);
        expect(o.stdout).to.contain(name);
      }
      leader.kill('SIGKILL');
    });
  });

  describe('without a bus, and as an unprivileged user', () => {
    it('no bus: one line naming DBUS_SYSTEM_BUS_ADDRESS, exit 1, no stack trace', async () => {
      const address = 'unix:path=/nonexistent/machinectl-e2e/bus';
      const r = await run(process.execPath, [OURS, 'list'], { env: { ...env(), DBUS_SYSTEM_BUS_ADDRESS: address } });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.equal(`Failed to connect to bus: No such file or directory (DBUS_SYSTEM_BUS_ADDRESS=${address})\n`);
      expect(r.stdout).to.equal('');
      const realR = await run('machinectl', ['list'], { env: { ...env(), DBUS_SYSTEM_BUS_ADDRESS: address } });
      expect(realR.code).to.equal(r.code);
    });

    it('permission denied: the server\'s refusal in one line, as upstream', async () => {
      const leader = await spawnLeader();
      const name = testMachineName('nobody');
      await createMachine(stack.client, name, leader.pid!);
      const as = (cmd: string, ...args: string[]) => runAsNobody(cmd, args, { env: env() });
      for (const args of [['terminate', name], ['kill', name], ['poweroff', name]]) {
        const [r, o] = await Promise.all([as('machinectl', '--no-pager', ...args), as(process.execPath, OURS, '--no-pager', ...args)]);
        expect(o.stderr).to.equal(r.stderr);
        expect(o.stderr).to.match(/^Could not (terminate|kill) machine: Access denied\n$/);
        expect(o.code).to.equal(r.code).and.to.equal(1);
      }
      const list = await as(process.execPath, OURS, '--no-pager', 'list');
      expect(list.code, list.stderr).to.equal(0);
      expect(list.stdout).to.contain(name);
    });
  });
});
