/**
 * The deployment files in apps/machined/deploy: the bus policy loads into a real dbus-daemon and
 * grants exactly what systemd 252's does, the activation file is read, the unit and the OpenRC
 * script parse, and install.sh installs and uninstalls cleanly below a scratch root. Needs no
 * machined: a stand-in owns the name so that "reached the daemon" can be told from "denied".
 */
import { expect } from 'chai';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  REPO_ROOT,
  run,
  runAsNobody,
  startMachined,
  startPrivateBus,
  stockSystemBusPolicies,
  trackPath,
  type MachinedProcess,
  type PrivateBus,
  type RunResult,
} from '../support/index.js';

const DEPLOY = join(REPO_ROOT, 'apps/machined/deploy');
const POLICY = join(DEPLOY, 'dbus/org.freedesktop.machine1.conf');
const FAKE_MACHINED = join(REPO_ROOT, 'e2e/fixtures/fake-machined.mjs');
const M1 = 'org.freedesktop.machine1';

function busctlCall(bus: PrivateBus, iface: string, member: string, signature = '', ...args: string[]): string[] {
  return [`--address=${bus.address}`, 'call', M1, '/org/freedesktop/machine1', iface, member, ...(signature ? [signature, ...args] : [])];
}

function denied(r: RunResult): boolean {
  return /Access denied|AccessDenied/i.test(r.stderr);
}

/** The call got through to the daemon (which answered it, or failed it for its own reasons). */
function reached(r: RunResult): boolean {
  return !denied(r) && !/Failed to connect/i.test(r.stderr);
}

describe('deployment files', () => {
  describe('D-Bus policy and activation', () => {
    let bus: PrivateBus;
    let daemon: MachinedProcess;
    let serviceDir: string;

    before(async () => {
      serviceDir = trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-services-')));
      cpSync(join(DEPLOY, 'dbus/org.freedesktop.machine1.service'), join(serviceDir, 'org.freedesktop.machine1.service'));
      // The stock system bus policy (deny by default), then ours, in system.conf's order.
      bus = await startPrivateBus({
        policies: stockSystemBusPolicies(),
        extraConfig: `<include>${POLICY}</include>\n  <servicedir>${serviceDir}</servicedir>`,
      });
      const state = trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-state-')));
      daemon = await startMachined({ busAddress: bus.address, stateDir: state, poolPath: state, entry: FAKE_MACHINED });
    });
    after(async () => {
      await daemon?.stop();
      await bus?.stop();
    });

    it('loads into dbus-daemon without complaints', () => {
      const complaints = bus.logs().filter((l) => !/Failed to set fd limit/.test(l));
      expect(complaints).to.deep.equal([]);
    });

    it('lets root own org.freedesktop.machine1 (the stand-in got it)', () => {
      expect(daemon.logs()).to.include('fake-machined: ready');
    });

    it('lets anyone make the read-only calls and reach the methods machined authorizes itself', async () => {
      const calls: Array<[string, string, string, ...string[]]> = [
        ['org.freedesktop.DBus.Peer', 'Ping', ''],
        ['org.freedesktop.DBus.Introspectable', 'Introspect', ''],
        ['org.freedesktop.DBus.Properties', 'GetAll', 's', `${M1}.Manager`],
        [`${M1}.Manager`, 'ListMachines', ''],
        [`${M1}.Manager`, 'GetMachine', 's', 'x'],
        [`${M1}.Manager`, 'GetMachineUIDShift', 's', 'x'],
        [`${M1}.Manager`, 'TerminateMachine', 's', 'x'],
        [`${M1}.Manager`, 'KillMachine', 'ssi', 'x', 'all', '9'],
        [`${M1}.Manager`, 'CopyToMachineWithFlags', 'ssst', 'x', '/a', '/b', '0'],
      ];
      for (const [iface, member, sig, ...args] of calls) {
        const r = await runAsNobody('busctl', busctlCall(bus, iface, member, sig, ...args));
        expect(reached(r), `${member}: ${r.stderr}`).to.equal(true);
      }
    });

    it('denies unprivileged callers the root-only methods, Properties.Set and owning the name', async () => {
      const calls: Array<[string, string, string, ...string[]]> = [
        [`${M1}.Manager`, 'CreateMachine', 'sayssusa(sv)', 'x', '0', 'svc', 'container', '1', '/', '0'],
        [`${M1}.Manager`, 'RegisterMachine', 'sayssus', 'x', '0', 'svc', 'container', '1', '/'],
        [`${M1}.Manager`, 'OpenMachinePTY', 's', 'x'],
        [`${M1}.Manager`, 'OpenMachineRootDirectory', 's', 'x'],
        ['org.freedesktop.DBus.Properties', 'Set', 'ssv', `${M1}.Manager`, 'PoolLimit', 't', '1'],
      ];
      for (const [iface, member, sig, ...args] of calls) {
        const r = await runAsNobody('busctl', busctlCall(bus, iface, member, sig, ...args));
        expect(denied(r), `${member}: ${r.stderr}`).to.equal(true);
      }
      const own = await runAsNobody('python3', [
        '-c',
        `import dbus\nb = dbus.bus.BusConnection('${bus.address}')\nb.request_name('${M1}')`,
      ], { env: { PATH: `/usr/bin:${process.env.PATH}` } });
      expect(own.code).to.not.equal(0);
      expect(own.stderr).to.match(/AccessDenied/);
    });

    it('still lets root call the root-only methods', async () => {
      const r = await run('busctl', busctlCall(bus, `${M1}.Manager`, 'OpenMachinePTY', 's', 'x'));
      expect(reached(r), r.stderr).to.equal(true);
    });

    it('declares the activatable name', async () => {
      const r = await run('busctl', [`--address=${bus.address}`, 'list', '--activatable', '--no-pager']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include(M1);
    });
  });

  describe('service manager files', () => {
    it('systemd unit passes systemd-analyze verify', async function () {
      if (!existsSync('/usr/bin/systemd-analyze')) this.skip();
      const dir = trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-unit-')));
      // The real ExecStart is not installed here; everything else is checked as written.
      const text = readFileSync(join(DEPLOY, 'systemd/machined.service'), 'utf8').replace(/^ExecStart=.*$/m, 'ExecStart=/bin/true');
      writeFileSync(join(dir, 'machined.service'), text);
      const r = await run('systemd-analyze', ['verify', '--man=no', join(dir, 'machined.service')], {
        env: { SYSTEMD_UNIT_PATH: `${dir}:` },
      });
      expect(r.code, r.stderr).to.equal(0);
      // Debian's systemd-machined.service (loaded through Conflicts=) has the same BusName; that
      // clash is expected and is why install.sh masks it.
      const other = r.stderr
        .split('\n')
        .filter((l) => l && !/Two services allocated for the same bus name|Failed to put bus name to hashmap/.test(l));
      expect(other).to.deep.equal([]);
    });

    it('OpenRC script and install.sh are valid shell', async () => {
      const openrc = readFileSync(join(DEPLOY, 'openrc/machined'), 'utf8');
      expect(openrc.startsWith('#!/sbin/openrc-run\n')).to.equal(true);
      expect(openrc).to.match(/^command="\/usr\/lib\/machined\/bin\/machined\.mjs"$/m).and.match(/need dbus/);
      expect((await run('sh', ['-n', join(DEPLOY, 'openrc/machined')])).code).to.equal(0);
      expect((await run('bash', ['-n', join(DEPLOY, 'install.sh')])).code).to.equal(0);
    });
  });

  describe('install.sh', () => {
    it('installs below a root, sets upstream files aside, and --uninstall restores them', async () => {
      const work = trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-install-')));
      // A dist as the build lays it out: the bundle, its package.json, and deploy/ copied in.
      const dist = join(work, 'dist');
      cpSync(DEPLOY, dist, { recursive: true });
      mkdirSync(join(dist, 'bin'));
      writeFileSync(join(dist, 'bin/machined.mjs'), '#!/usr/bin/env node\n');
      writeFileSync(join(dist, 'package.json'), '{"name":"machined","version":"0.0.0","type":"module"}\n');
      // A Debian-like root with systemd-container's machined files present.
      const root = join(work, 'root');
      mkdirSync(join(root, 'lib/systemd/system'), { recursive: true });
      mkdirSync(join(root, 'usr/share/dbus-1/system.d'), { recursive: true });
      writeFileSync(join(root, 'lib/systemd/system/systemd-machined.service'), '[Service]\n');
      const upstreamPolicy = join(root, 'usr/share/dbus-1/system.d/org.freedesktop.machine1.conf');
      writeFileSync(upstreamPolicy, '<busconfig/>\n');
      chmodSync(join(dist, 'install.sh'), 0o755);

      const inst = await run('bash', [join(dist, 'install.sh'), '--root', root, '--skip-npm']);
      expect(inst.code, inst.stderr).to.equal(0);
      expect(readFileSync(join(root, 'usr/lib/machined/bin/machined.mjs'), 'utf8')).to.match(/^#!/);
      expect(readFileSync(upstreamPolicy, 'utf8')).to.equal(readFileSync(POLICY, 'utf8'));
      expect(readFileSync(`${upstreamPolicy}.machined-orig`, 'utf8')).to.equal('<busconfig/>\n');
      expect(existsSync(join(root, 'usr/share/dbus-1/system-services/org.freedesktop.machine1.service'))).to.equal(true);
      expect(existsSync(join(root, 'etc/systemd/system/machined.service'))).to.equal(true);
      expect(readlinkSync(join(root, 'etc/systemd/system/systemd-machined.service'))).to.equal('/dev/null');

      // Installing again over itself is fine and keeps the record of what to restore.
      const again = await run('bash', [join(dist, 'install.sh'), '--root', root, '--skip-npm']);
      expect(again.code, again.stderr).to.equal(0);

      const un = await run('bash', [join(root, 'usr/lib/machined/install.sh'), '--root', root, '--uninstall']);
      expect(un.code, un.stderr).to.equal(0);
      expect(readFileSync(upstreamPolicy, 'utf8')).to.equal('<busconfig/>\n');
      expect(existsSync(join(root, 'usr/lib/machined'))).to.equal(false);
      expect(existsSync(join(root, 'etc/systemd/system/machined.service'))).to.equal(false);
      expect(existsSync(join(root, 'etc/systemd/system/systemd-machined.service'))).to.equal(false);
      expect(existsSync(join(root, 'usr/share/dbus-1/system-services/org.freedesktop.machine1.service'))).to.equal(false);
    });
  });
});
