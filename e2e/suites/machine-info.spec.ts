/**
 * What a running container tells about itself: OS release (real machinectl list shows OS and
 * VERSION), addresses from its own network namespace in upstream's order (and real
 * libnss_mymachines resolves its name with them), and the UID shift of its user namespace.
 */
import { expect } from 'chai';
import { machineObjectPath } from '@machined/protocol';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, busyboxRootfs, callManager, createMachine, errorOf, listMachineNames, machineLeader, run, runAsNobody, spawnNspawn, testMachineName, track, useStack, waitUntil } from '../support/index.js';

describe('machine information from a running container', function () {
  this.timeout(120000);
  const stack = useStack({ extraArgs: ['--terminate-timeout', '5'] });
  const env = () => ({ DBUS_SYSTEM_BUS_ADDRESS: stack.bus.address, SYSTEMD_COLORS: '0' });

  it('reads the OS release of a container; real machinectl list and status show it', async () => {
    const name = testMachineName('os');
    const c = spawnNspawn({ name, rootfs: await busyboxRootfs(), busAddress: stack.bus.address, command: ['/bin/sh', '-c', 'sleep 1000 & wait'] });
    await waitUntil(async () => (await listMachineNames(stack.client)).includes(name), 'nspawn to register', 30000);
    const [fields] = await callManager(stack.client, 'GetMachineOSRelease', [name]);
    expect(fields).to.include({ ID: 'busybox-test', VERSION_ID: '1' });
    const list = await run('machinectl', ['--no-pager', 'list'], { env: env() });
    expect(list.stdout).to.match(new RegExp(`^${name}\\s+container\\s+systemd-nspawn\\s+busybox-test\\s+1\\s+-\\s*$`, 'm'));
    // The container shares the host's network namespace: no private addresses, as upstream says.
    expect((await errorOf(callManager(stack.client, 'GetMachineAddresses', [name]))).name).to.equal('org.freedesktop.machine1.NoPrivateNetworking');
    expect(await callManager(stack.client, 'GetMachineUIDShift', [name])).to.deep.equal([0]);
    await callManager(stack.client, 'TerminateMachine', [name]);
    c.child.kill('SIGKILL');
    await c.exited;
  });

  it('lists the addresses of a container with its own network, global first; libnss_mymachines resolves them', async () => {
    const name = testMachineName('net');
    const c = spawnNspawn({
      name,
      rootfs: await busyboxRootfs(),
      busAddress: stack.bus.address,
      extraArgs: ['--network-veth'],
      command: ['/bin/sh', '-c', 'sleep 1000 & wait'],
    });
    try {
      await waitUntil(async () => (await listMachineNames(stack.client)).includes(name), 'nspawn to register', 30000);
      const leader = await machineLeader(stack.client, name);
      const inNetns = (...args: string[]) => run('nsenter', [`--net=/proc/${leader}/ns/net`, '--', 'ip', ...args]);
      // Added link-local first and global last: the answer must still put global ones first.
      for (const args of [
        ['addr', 'add', '169.254.7.2/16', 'scope', 'link', 'dev', 'host0'],
        ['-6', 'addr', 'add', 'fd42::2/64', 'dev', 'host0', 'nodad'],
        ['addr', 'add', '10.213.7.2/24', 'dev', 'host0'],
      ]) {
        const r = await inNetns(...args);
        expect(r.code, r.stderr).to.equal(0);
      }
      const [a] = await callManager(stack.client, 'GetMachineAddresses', [name]);
      const got = (a as Array<[number, Buffer]>).map(([f, b]) => `${f}:${b.toString('hex')}`);
      expect(got).to.deep.equal(['2:0ad50702', '10:fd420000000000000000000000000002', '2:a9fe0702']);

      const list = await run('machinectl', ['--no-pager', 'list'], { env: env() });
      expect(list.stdout).to.match(new RegExp(`^${name}\\s+container\\s+systemd-nspawn\\s+busybox-test\\s+1\\s+10\\.213\\.7\\.2…\\s*$`, 'm'));
      const nss = await run('getent', ['-s', 'hosts:mymachines', 'ahostsv4', name], { env: env() });
      expect(nss.code, nss.stderr).to.equal(0);
      expect(nss.stdout.split('\n')[0]).to.match(/^10\.213\.7\.2\s/);
    } finally {
      await callManager(stack.client, 'TerminateMachine', [name]).catch(() => {});
      c.child.kill('SIGKILL');
      await c.exited;
    }
  });

  it("hands a client a file descriptor of the container's root directory (python3-dbus receives it)", async () => {
    const name = testMachineName('root');
    const c = spawnNspawn({ name, rootfs: await busyboxRootfs(), busAddress: stack.bus.address, command: ['/bin/sh', '-c', 'sleep 1000 & wait'] });
    try {
      await waitUntil(async () => (await listMachineNames(stack.client)).includes(name), 'nspawn to register', 30000);
      const script = join(REPO_ROOT, 'e2e/fixtures/open-root-directory.py');
      const r = await run('/usr/bin/python3', [script, stack.bus.address, name]);
      expect(r.code, r.stderr).to.equal(0);
      const got = JSON.parse(r.stdout) as { entries: string[]; os_release: string };
      expect(got.entries).to.include.members(['bin', 'etc', 'proc']);
      expect(got.os_release).to.contain('ID=busybox-test');
      // Only root (or polkit) may open it.
      const denied = await runAsNobody('/usr/bin/python3', [script, stack.bus.address, name]);
      expect(JSON.parse(denied.stdout)).to.deep.include({ error: 'org.freedesktop.DBus.Error.AccessDenied' });
    } finally {
      await callManager(stack.client, 'TerminateMachine', [name]).catch(() => {});
      c.child.kill('SIGKILL');
      await c.exited;
    }
  });

  it('maps users and groups between a user-namespaced container and the host (real busctl)', async () => {
    // A leader in its own user namespace, mapped 0..65535 → 200000..265535 (root may write any map).
    const leader = track(spawn('unshare', ['--user', '--', 'sh', '-c', 'read go; exec sleep 1000'], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] }));
    await new Promise((r) => leader.once('spawn', r));
    await waitUntil(() => readFileSync(`/proc/${leader.pid}/status`, 'utf8').length > 0 && readFileSync(`/proc/${leader.pid}/uid_map`, 'utf8') === '', 'the user namespace');
    writeFileSync(`/proc/${leader.pid}/uid_map`, '0 200000 65536\n');
    writeFileSync(`/proc/${leader.pid}/gid_map`, '0 200000 65536\n');
    leader.stdin!.end('go\n');
    const name = testMachineName('userns');
    await createMachine(stack.client, name, leader.pid!);
    const busctl = (...args: string[]) => run('busctl', ['--address', stack.bus.address, 'call', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', ...args]);
    try {
      expect((await busctl('MapFromMachineUser', 'su', name, '1000')).stdout).to.equal('u 201000\n');
      expect((await busctl('MapFromMachineGroup', 'su', name, '5')).stdout).to.equal('u 200005\n');
      expect((await busctl('MapToMachineUser', 'u', '200007')).stdout).to.equal(`sou "${name}" "${machineObjectPath(name)}" 7\n`);
      expect((await busctl('MapToMachineGroup', 'u', '265535')).stdout).to.equal(`sou "${name}" "${machineObjectPath(name)}" 65535\n`);
      expect(await callManager(stack.client, 'GetMachineUIDShift', [name])).to.deep.equal([200000]);
      expect(await errorOf(callManager(stack.client, 'MapToMachineUser', [1000]))).to.deep.equal({ name: 'org.freedesktop.machine1.NoSuchUserMapping', message: 'User 1000 belongs to host UID range' });
      expect(await errorOf(callManager(stack.client, 'MapToMachineGroup', [900000]))).to.deep.equal({ name: 'org.freedesktop.machine1.NoSuchGroupMapping', message: 'No matching group mapping for 900000.' });
      expect(await errorOf(callManager(stack.client, 'MapFromMachineUser', [name, 70000]))).to.deep.equal({ name: 'org.freedesktop.machine1.NoSuchUserMapping', message: `Machine '${name}' has no matching user mappings.` });
    } finally {
      leader.kill('SIGKILL');
    }
  });

  it('answers for the host machine too: OS release and UID shift 0', async () => {
    const [fields] = await callManager(stack.client, 'GetMachineOSRelease', ['.host']);
    expect((fields as Record<string, string>).ID).to.be.a('string').and.not.equal('');
    expect(await callManager(stack.client, 'GetMachineUIDShift', ['.host'])).to.deep.equal([0]);
  });
});
