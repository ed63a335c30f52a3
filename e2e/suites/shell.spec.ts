/**
 * Terminals into running machines: OpenMachinePTY, OpenMachineLogin and OpenMachineShell (and the
 * Machine object's own), driven by Debian's real machinectl and by ours through a real
 * pseudo-terminal (`script`), into busybox containers that run no systemd (upstream cannot do
 * that, systemd#12785), one of them with a user namespace.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineObjectPath } from '@machined/protocol';
import {
  MACHINECTL_ENTRY,
  callManager,
  copyBusyboxRootfs,
  errorOf,
  listMachineNames,
  mergeEnv,
  run,
  runAsNobody,
  signalTree,
  spawnNspawn,
  testMachineName,
  track,
  trackPath,
  useStack,
  waitUntil,
  type NspawnContainer,
} from '../support/index.js';

/** Single-quotes a word for sh. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The descriptors `ls -l /proc/self/fd` shows, run as the session's program itself: 0, 1, 2 on the
 * PTY and ls's own handle of that directory, nothing inherited.
 */
function expectOnlyStdio(output: string): void {
  // `lrwx------ 1 root root 64 DATE 0 -> /dev/pts/3`; ls's own directory handle is gone by the
  // time it reads that link (BusyBox then prints no target).
  const fds = [...output.matchAll(/^l\S+\s.*?\s(\d+)(?: -> (\S+))?\r?$/gm)].map((m) => [Number(m[1]), m[2]] as const);
  expect(fds.map(([n]) => n), output).to.deep.equal([0, 1, 2, 3]);
  for (const [, target] of fds.slice(0, 3)) expect(target).to.match(/^\/dev\/pts\/\d+$/);
}

interface Step {
  /** Wait until the output so far matches, then type `send` (or call it). */
  after: RegExp;
  send: string | (() => void);
}

interface Session {
  code: number | null;
  output: string;
}

describe('shell, login and PTYs in running machines', function () {
  this.timeout(180000);
  const stack = useStack({ extraArgs: ['--terminate-timeout', '5'] });
  const env = () => ({ DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0', TERM: 'xterm', SHELL: '/bin/sh' });
  const clients = {
    real: 'machinectl',
    ours: `${q(process.execPath)} ${q(MACHINECTL_ENTRY)}`,
  } as const;

  /**
   * Runs a machinectl command line inside a real pseudo-terminal (util-linux `script`), typing the
   * steps' input once their prompt has appeared. The whole terminal output comes back.
   */
  function session(command: string, steps: Step[] = [], timeoutMs = 30000): Promise<Session> {
    return new Promise((resolve, reject) => {
      const child = track(spawn('script', ['-qec', command, '/dev/null'], { env: mergeEnv(env()), detached: true, stdio: ['pipe', 'pipe', 'pipe'] }));
      let output = '';
      let step = 0;
      const timer = setTimeout(() => signalTree(child, 'SIGKILL'), timeoutMs);
      const onData = (b: Buffer) => {
        output += b.toString();
        while (step < steps.length && steps[step]!.after.test(output)) {
          const { send } = steps[step++]!;
          if (typeof send === 'string') child.stdin!.write(send);
          else send();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.stdin!.on('error', () => {});
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }

  /** A private copy of the busybox tree: nspawn locks its directory, and other suites use the shared one. */
  async function privateRootfs(): Promise<string> {
    return copyBusyboxRootfs(join(trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-shell-'))), 'root'));
  }

  async function startContainer(prefix: string, options: { rootfs?: string; extraArgs?: string[] } = {}): Promise<NspawnContainer> {
    const name = testMachineName(prefix);
    const c = spawnNspawn({
      name,
      rootfs: options.rootfs ?? (await privateRootfs()),
      busAddress: stack.bus.address,
      extraArgs: options.extraArgs,
      command: ['/bin/sh', '-c', 'sleep 1000 & wait'],
    });
    await waitUntil(async () => (await listMachineNames(stack.client)).includes(name), 'nspawn to register', 30000);
    return c;
  }

  /** SIGKILL to the whole machine: quick, and nspawn then unregisters the machine and exits. */
  async function stopContainer(c: NspawnContainer): Promise<void> {
    await callManager(stack.client, 'KillMachine', [c.name, 'all', 9]).catch(() => {});
    await c.exited;
  }

  // Nested, so that its after() hook (the container) runs before useStack's (machined and the bus).
  describe('in busybox containers', () => {
    let box: NspawnContainer;
    before(async () => {
      box = await startContainer('sh');
    });
    after(async () => {
      if (box) await stopContainer(box);
    });

    for (const [label, machinectl] of Object.entries(clients)) {
      describe(`through ${label === 'real' ? "Debian's" : 'our'} machinectl`, () => {
        it('shell root@NAME COMMAND runs in the container, on its own PTY, as its root, with only fds 0, 1, 2', async () => {
          const s = await session(`${machinectl} shell root@${box.name} /bin/sh -c ${q('hostname; tty; id')}`);
          expect(s.code, s.output).to.equal(0);
          expect(s.output).to.include(`Connected to machine ${box.name}. Press ^] three times within 1s to exit session.`);
          expect(s.output).to.match(new RegExp(`^${box.name}\\r?$`, 'm'));
          expect(s.output).to.match(/^\/dev\/pts\/\d+\r?$/m);
          expect(s.output).to.match(/^uid=0\(root\) gid=0\(root\)/m);
          expect(s.output).to.include(`Connection to machine ${box.name} terminated.`);
          expectOnlyStdio((await session(`${machinectl} shell root@${box.name} /bin/ls -l /proc/self/fd`)).output);
          // In the container's cgroup (the root of its cgroup namespace), so it is part of the machine.
          expect((await session(`${machinectl} shell ${box.name} /bin/cat /proc/self/cgroup`)).output).to.match(/^0::\/\r?$/m);
        });

        it('shell NAME is root\'s login shell in its home directory', async () => {
          const s = await session(`${machinectl} shell ${box.name}`, [{ after: /:~# /, send: 'echo "ARGV0=$0 PWD=$(pwd) HOME=$HOME TERM=$TERM"; exit\r' }]);
          expect(s.code, s.output).to.equal(0);
          expect(s.output).to.match(/^ARGV0=-sh PWD=\/root HOME=\/root TERM=xterm\r?$/m);
          expect(s.output).to.include(`Connection to machine ${box.name} terminated.`);
        });

        it('login NAME shows the container\'s login prompt; ^] three times leaves', async () => {
          const s = await session(`${machinectl} login ${box.name}`, [{ after: new RegExp(`${box.name} login: `), send: '\x1d\x1d\x1d' }]);
          expect(s.output).to.include(`Connected to machine ${box.name}. Press ^] three times within 1s to exit session.`);
          expect(s.output).to.include(`${box.name} login: `);
          expect(s.output).to.include(`Connection to machine ${box.name} terminated.`);
          expect(s.code, s.output).to.equal(0);
        });

        it('gives the PTY our terminal\'s window size', async () => {
          // Typed once the prompt is there: the size is set before input is forwarded.
          const s = await session(`stty rows 33 cols 101; ${machinectl} shell ${box.name}`, [{ after: /:~# /, send: 'stty size; exit\r' }]);
          expect(s.output, s.output).to.match(/^33 101\r?$/m);
        });

        it('login on .host shows the host\'s own login prompt (agetty here)', async () => {
          const prompt = new RegExp(`${hostname()} login: `);
          const s = await session(`${machinectl} login`, [{ after: prompt, send: '\x1d\x1d\x1d' }]);
          expect(s.output).to.include('Connected to the local host. Press ^] three times within 1s to exit session.');
          expect(s.output).to.match(prompt);
          expect(s.output).to.include('Connection to the local host terminated.');
          expect(s.code, s.output).to.equal(0);
        });

        it('shell on .host runs on the host itself', async () => {
          const s = await session(`${machinectl} shell .host /bin/sh -c ${q('tty; echo HOST-SHELL $(id -u)')}`);
          expect(s.code, s.output).to.equal(0);
          expect(s.output).to.include('Connected to the local host. Press ^] three times within 1s to exit session.');
          expect(s.output).to.match(/^HOST-SHELL 0\r?$/m);
          expect(s.output).to.include('Connection to the local host terminated.');
        });
      });
    }

    it("uses the user's shell and home from the container's passwd", async () => {
      const rootfs = await privateRootfs();
      writeFileSync(join(rootfs, 'bin/myshell'), '#!/bin/sh\necho "MYSHELL uid=$(id -u) home=$HOME pwd=$(pwd) user=$USER"\n');
      chmodSync(join(rootfs, 'bin/myshell'), 0o755);
      const passwd = readFileSync(join(rootfs, 'etc/passwd'), 'utf8').replace('/home/alice:/bin/sh', '/home/alice:/bin/myshell');
      writeFileSync(join(rootfs, 'etc/passwd'), passwd);
      const c = await startContainer('pw', { rootfs });
      try {
        for (const machinectl of Object.values(clients)) {
          const s = await session(`${machinectl} shell alice@${c.name}`);
          expect(s.code, s.output).to.equal(0);
          expect(s.output).to.match(/^MYSHELL uid=1000 home=\/home\/alice pwd=\/home\/alice user=alice\r?$/m);
        }
        // --uid names the user too; a user the container does not know is a clear error.
        const s = await session(`${clients.ours} shell --uid=alice ${c.name}`);
        expect(s.output).to.match(/^MYSHELL uid=1000/m);
        const bad = await session(`${clients.ours} shell bob@${c.name}`);
        expect(bad.code).to.equal(1);
        expect(bad.output).to.include(`Failed to get shell PTY: Failed to open a shell in machine ${c.name}: no user 'bob' in the machine's /etc/passwd`);
      } finally {
        await stopContainer(c);
      }
    });

    it('works in a container with its own user namespace', async () => {
      const rootfs = await privateRootfs();
      const c = await startContainer('us', { rootfs, extraArgs: ['--private-users=pick', '--private-users-ownership=chown', '--console=pipe'] });
      try {
        const [shift] = (await callManager(stack.client, 'GetMachineUIDShift', [c.name])) as [number];
        expect(shift).to.be.greaterThan(0);
        const s = await session(`${clients.real} shell ${c.name} /bin/sh -c ${q('id; tty; cat /proc/self/uid_map')}`);
        expect(s.code, s.output).to.equal(0);
        expect(s.output).to.match(/^uid=0\(root\) gid=0\(root\)/m);
        expect(s.output).to.match(/^\/dev\/pts\/\d+\r?$/m);
        expect(s.output).to.match(new RegExp(`^\\s+0\\s+${shift}\\s+65536\\r?$`, 'm'));
        expectOnlyStdio((await session(`${clients.ours} shell ${c.name} /bin/ls -l /proc/self/fd`)).output);
        const login = await session(`${clients.ours} login ${c.name}`, [{ after: new RegExp(`${c.name} login: `), send: '\x1d\x1d\x1d' }]);
        expect(login.output).to.include(`${c.name} login: `);
      } finally {
        await stopContainer(c);
      }
    });

    it('a session ends when its machine does', async () => {
      const c = await startContainer('end');
      try {
        const kill = () => void callManager(stack.client, 'KillMachine', [c.name, 'all', 9]);
        const s = await session(`${clients.ours} shell ${c.name}`, [{ after: /:~# /, send: kill }]);
        expect(s.output).to.match(new RegExp(`(Connection to machine|Machine) ${c.name} terminated\\.`));
        expect(s.code, s.output).to.equal(0);
      } finally {
        await stopContainer(c);
      }
    });

    it('--wait (ours) exits with the command\'s exit status and hides the marker', async () => {
      const fail = await session(`${clients.ours} --wait shell ${box.name} /bin/sh -c ${q('echo before; exit 7')}`);
      expect(fail.code, fail.output).to.equal(7);
      expect(fail.output).to.match(/^before\r?$/m);
      expect(fail.output).not.to.include('machinectl-exit');
      const ok = await session(`${clients.ours} shell --wait ${box.name} /bin/true`);
      expect(ok.code, ok.output).to.equal(0);
      // Without --wait the status is not carried, as upstream (issue #4215).
      const plain = await session(`${clients.ours} shell ${box.name} /bin/false`);
      expect(plain.code, plain.output).to.equal(0);
      // Without a terminal at all (a script's pipes): the output still arrives, the status too.
      const piped = await run(process.execPath, [MACHINECTL_ENTRY, '-q', '--wait', 'shell', box.name, '/bin/sh', '-c', 'echo piped; exit 3'], { env: env() });
      expect(piped.code, piped.stderr).to.equal(3);
      expect(piped.stdout).to.equal('piped\r\n');
      expect(piped.stderr).to.equal('');
      const noCommand = await session(`${clients.ours} --wait shell ${box.name}`);
      expect(noCommand.code).to.equal(1);
      expect(noCommand.output).to.include('--wait needs a command');
    });

    it('busctl gets a PTY master and the path inside the container, from the Manager and the Machine object', async () => {
      const busctl = (...args: string[]) => run('busctl', ['call', 'org.freedesktop.machine1', ...args], { env: env() });
      const byName = await busctl('/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'OpenMachinePTY', 's', box.name);
      expect(byName.code, byName.stderr).to.equal(0);
      expect(byName.stdout).to.match(/^hs \d+ "\/dev\/pts\/\d+"$/m);
      const own = await busctl(machineObjectPath(box.name), 'org.freedesktop.machine1.Machine', 'OpenPTY');
      expect(own.code, own.stderr).to.equal(0);
      expect(own.stdout).to.match(/^hs \d+ "\/dev\/pts\/\d+"$/m);
      const login = await busctl(machineObjectPath(box.name), 'org.freedesktop.machine1.Machine', 'OpenLogin');
      expect(login.stdout).to.match(/^hs \d+ "\/dev\/pts\/\d+"$/m);
      const shell = await busctl(machineObjectPath(box.name), 'org.freedesktop.machine1.Machine', 'OpenShell', 'ssasas', 'root', '/bin/true', '1', '/bin/true', '0');
      expect(shell.stdout).to.match(/^hs \d+ "\/dev\/pts\/\d+"$/m);
    });

    it('refuses nobody shell, login and PTY with AccessDenied', async () => {
      const calls: string[][] = [
        ['/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'OpenMachineShell', 'sssasas', box.name, '', '', '0', '0'],
        ['/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'OpenMachineLogin', 's', box.name],
        ['/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'OpenMachinePTY', 's', box.name],
        [machineObjectPath(box.name), 'org.freedesktop.machine1.Machine', 'OpenShell', 'ssasas', '', '', '0', '0'],
        [machineObjectPath(box.name), 'org.freedesktop.machine1.Machine', 'OpenLogin'],
        [machineObjectPath(box.name), 'org.freedesktop.machine1.Machine', 'OpenPTY'],
        ['/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'OpenMachineShell', 'sssasas', '.host', '', '', '0', '0'],
      ];
      for (const args of calls) {
        const r = await runAsNobody('busctl', ['call', 'org.freedesktop.machine1', ...args], { env: env() });
        expect(r.code, `${args[2]}: ${r.stdout}`).to.not.equal(0);
        expect(r.stderr, args[2]).to.include('Access denied');
      }
      const ours = await runAsNobody(process.execPath, [MACHINECTL_ENTRY, 'shell', box.name], { env: env() });
      expect(ours.code).to.equal(1);
      expect(ours.stderr).to.equal('Failed to get shell PTY: Access denied\n');
    });

    it('answers bad arguments with upstream\'s errors', async () => {
      const shell = (...args: unknown[]) => errorOf(callManager(stack.client, 'OpenMachineShell', args, 'sssasas'));
      expect(await shell(box.name, '', 'bin/sh', [], [])).to.deep.equal({
        name: 'org.freedesktop.DBus.Error.InvalidArgs',
        message: "Specified path 'bin/sh' is not absolute",
      });
      expect(await shell(box.name, '', '', [], ['NOEQUALS'])).to.deep.equal({
        name: 'org.freedesktop.DBus.Error.InvalidArgs',
        message: 'Invalid environment assignments',
      });
      expect((await shell(box.name, '', '', [], ['A=1', 'A=2'])).message).to.equal('Invalid environment assignments');
      expect((await shell('nope', '', '', [], [])).name).to.equal('org.freedesktop.machine1.NoSuchMachine');
      expect((await errorOf(callManager(stack.client, 'OpenMachinePTY', ['nope']))).name).to.equal('org.freedesktop.machine1.NoSuchMachine');
    });
  });
});
