/**
 * NSS host look-up benchmark: look-ups per second and median latency of getaddrinfo() for
 *   - a container name through our module (`hosts: files machines`, libnss_machines.so.2 reading
 *     the table nss-helper publishes), and the same with the fast path off
 *     (MACHINED_NSS_NO_TABLE=1: one unix-socket round trip to nss-helper per look-up),
 *   - the same name through systemd's libnss_mymachines against our machined
 *     (`hosts: files mymachines`: state file + GetMachineAddresses on the bus),
 *   - a name in /etc/hosts with the same two addresses (`hosts: files`, the floor), and one with
 *     only the IPv4 address (getaddrinfo skips its RFC 3484 sort: the bare cost of `files`),
 * measured in one run by one client program (tools/bench/nss-lookup.c, compiled here with gcc),
 * sequentially, one look-up at a time. The container is a leader in its own network namespace
 * with an IPv4 and an IPv6 address; the /etc/hosts name is added to a copy of /etc/hosts
 * bind-mounted in a private mount namespace (the real file is never touched).
 *
 * Runs inside e2e/run-in-namespace.sh (it re-executes itself there): /run/systemd/machines, where
 * libnss_mymachines looks, is a private tmpfs. Prints a table and one `BENCH_JSON {…}` line; never
 * asserts timing; exits 1 only when something failed functionally (a look-up that failed or gave
 * the wrong address, something left behind).
 *
 * usage: node --import tsx tools/bench/nss-lookup.ts     (root; machined and nss-helper built)
 * environment: BENCH_NSS_SECONDS (3) timed seconds per path.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import dbus from 'dbus-next';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MACHINED = join(REPO, 'apps/machined/dist/bin/machined.mjs');
const HELPER = join(REPO, 'apps/nss-helper/dist/bin/nss-helper.mjs');
const LIB_DIR = join(REPO, 'apps/nss-helper/dist/lib');
const SECONDS = Number(process.env.BENCH_NSS_SECONDS ?? 3);
const TAG = randomBytes(3).toString('hex');
const NAME = `nssbench${TAG}`;
const FLOOR_NAME = `nssfloor${TAG}`;
const FLOOR_ONE = `nssfloorv4${TAG}`;
const V4 = '10.231.0.2';
const V6 = 'fd77::2';

const log = (s: string) => process.stderr.write(`nss-lookup: ${s}\n`);

if (process.env.MACHINED_E2E_NAMESPACE !== '1') {
  if (process.getuid?.() !== 0) {
    log('needs root (mount and network namespaces, cgroups)');
    process.exit(1);
  }
  for (const f of [MACHINED, HELPER, join(LIB_DIR, 'libnss_machines.so.2')]) {
    if (!existsSync(f)) {
      log(`${f} is missing: build first (npx nx run-many -t build -p machined nss-helper)`);
      process.exit(1);
    }
  }
  const r = spawnSync('bash', [join(REPO, 'e2e/run-in-namespace.sh'), process.execPath, ...process.execArgv, fileURLToPath(import.meta.url)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const tmp = mkdtempSync(join(tmpdir(), 'nss-lookup-bench-'));
const children = new Set<ChildProcess>();
const failures: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  children.add(child);
  return child;
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || `status ${r.status}`}`);
  return r.stdout;
}

async function startBus(): Promise<string> {
  const socket = join(tmp, 'bus.sock');
  const conf = join(tmp, 'bus.conf');
  writeFileSync(conf, readFileSync(join(REPO, 'tools/setup/system-bus.conf'), 'utf8').replaceAll('@LISTEN_ADDRESS@', `unix:path=${socket}`));
  const child = spawn('dbus-daemon', [`--config-file=${conf}`, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.add(child);
  await new Promise<void>((res, rej) => {
    child.stdout!.once('data', () => res());
    child.once('exit', (c) => rej(new Error(`dbus-daemon exited (${c})`)));
  });
  return `unix:path=${socket}`;
}

async function call(bus: dbus.MessageBus, dest: string, path: string, iface: string, member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
  const reply = await bus.call(new dbus.Message({ destination: dest, path, interface: iface, member, signature, body }));
  return reply?.body ?? [];
}

const manager = (bus: dbus.MessageBus, member: string, signature = '', body: unknown[] = []) =>
  call(bus, 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', member, signature, body);

function ask(socket: string, line: string): Promise<string> {
  return new Promise((res) => {
    const c = net.connect(socket);
    let out = '';
    c.on('data', (d) => (out += d.toString()));
    c.on('end', () => res(out));
    c.on('error', () => res(''));
    c.write(line);
  });
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Phase {
  label: string;
  services: string;
  name: string;
  calls: number;
  perSecond: number;
  medianUs: number;
  p90Us: number;
  failures: number;
  address: string;
}

async function main(): Promise<void> {
  const address = await startBus();
  const bus = dbus.sessionBus({ busAddress: address } as never);
  await new Promise<void>((res, rej) => {
    bus.once('connect', () => res());
    bus.once('error', rej);
  });
  const quiet = { ...process.env, NODE_EXTRA_CA_CERTS: '', NODE_OPTIONS: '' };
  start(
    process.execPath,
    [MACHINED, '--bus-address', address, '--state-dir', '/run/systemd/machines', '--runtime-dir', join(tmp, 'run'), '--pool-path', join(tmp, 'pool'), '--image-search-path', join(tmp, 'pool'), '--log-level', 'warning', '--terminate-timeout', '3'],
    quiet,
  );
  await until('machined to own org.freedesktop.machine1', async () => {
    const [owned] = await call(bus, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', ['org.freedesktop.machine1']);
    return owned === true;
  });
  const socket = join(tmp, 'hosts.sock');
  start(process.execPath, [HELPER, '--runtime-dir', join(tmp, 'run'), '--socket', socket, '--log-level', 'warning'], { ...quiet, MACHINED_USERDB_SOCKET: '' });
  await until('nss-helper to sync', async () => (await ask(socket, 'HOSTS 0 nothing\n')) === 'NOTFOUND\n');

  // The container: a leader in its own network namespace, one IPv4 and one IPv6 global address.
  const leader = start('unshare', ['--net', '--', 'sleep', '3600']);
  await until('the leader to enter its namespace', () => sh('readlink', [`/proc/${leader.pid}/ns/net`]) !== sh('readlink', ['/proc/self/ns/net']));
  const inNs = (...args: string[]) => sh('nsenter', [`--net=/proc/${leader.pid}/ns/net`, '--', ...args]);
  inNs('ip', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  inNs('sysctl', '-qw', 'net.ipv6.conf.v0.addr_gen_mode=1');
  inNs('ip', 'link', 'set', 'v0', 'up');
  inNs('ip', 'addr', 'add', `${V4}/24`, 'dev', 'v0');
  inNs('ip', '-6', 'addr', 'add', `${V6}/64`, 'dev', 'v0', 'nodad');
  await manager(bus, 'CreateMachine', 'sayssusa(sv)', [NAME, randomBytes(16), 'bench', 'container', leader.pid!, '', []]);
  await until('nss-helper to know the addresses', async () => (await ask(socket, `HOSTS 0 ${NAME}\n`)).startsWith('OK'));

  // The client, and /etc/hosts with the floor's name (a copy, bind-mounted in a mount namespace).
  const client = join(tmp, 'nss-lookup');
  sh('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', client, join(REPO, 'tools/bench/nss-lookup.c')]);
  const hosts = join(tmp, 'hosts');
  // The same two addresses as the container: getaddrinfo then does the same work after the NSS
  // module (RFC 3484 sorting probes each address's route), and only the source differs.
  writeFileSync(hosts, `${readFileSync('/etc/hosts', 'utf8').replace(/\n?$/, '\n')}${V4} ${FLOOR_NAME}\n${V6} ${FLOOR_NAME}\n${V4} ${FLOOR_ONE}\n`);
  log(`measuring ${SECONDS} s per path`);
  const r = spawnSync(
    'unshare',
    [
      '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hosts,
      client, String(SECONDS), `etc-hosts=files=${FLOOR_NAME}`, `etc-hosts-v4=files=${FLOOR_ONE}`, `machines=files machines=${NAME}`,
      `machines-socket=files machines=${NAME}=MACHINED_NSS_NO_TABLE=1`, `mymachines=files mymachines=${NAME}`,
    ],
    { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: LIB_DIR, MACHINED_NSS_SOCKET: socket, DBUS_SYSTEM_BUS_ADDRESS: address } },
  );
  if (r.status !== 0) throw new Error(`the client failed (${r.status}): ${r.stderr}`);
  const phases = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Phase);
  for (const p of phases) {
    if (p.failures > 0) failures.push(`${p.label}: ${p.failures} look-ups of ${p.name} failed`);
    // getaddrinfo sorts by RFC 3484 (gai.conf): either of the two may come first.
    if (p.address !== V4 && p.address !== V6) failures.push(`${p.label}: ${p.name} resolved to '${p.address}', expected ${V4} or ${V6}`);
  }

  await manager(bus, 'TerminateMachine', 's', [NAME]).catch((e: Error) => failures.push(`TerminateMachine: ${e.message}`));
  bus.disconnect();

  const by = Object.fromEntries(phases.map((p) => [p.label, p]));
  const floor = by['etc-hosts']!;
  const row = (label: string, what: string) => {
    const p = by[label]!;
    return `| ${what.padEnd(48)} | ${String(p.perSecond).padStart(10)} | ${p.medianUs.toFixed(1).padStart(9)} | ${p.p90Us.toFixed(1).padStart(6)} | ${(p.medianUs / floor.medianUs).toFixed(1).padStart(7)}× |`;
  };
  console.log(`\ngetaddrinfo(AF_UNSPEC, SOCK_STREAM), one client, sequential, ${SECONDS} s per path\n`);
  console.log(`| ${'path'.padEnd(48)} | look-ups/s | median µs | p90 µs | vs floor |`);
  console.log(`| ${'-'.repeat(48)} | ---------: | --------: | -----: | -------: |`);
  console.log(row('etc-hosts', '/etc/hosts, same 2 addresses — the floor'));
  console.log(row('etc-hosts-v4', '/etc/hosts, 1 address (no RFC 3484 sort)'));
  console.log(row('machines', 'container via libnss_machines (published table)'));
  console.log(row('machines-socket', 'container via libnss_machines (socket only)'));
  console.log(row('mymachines', 'container via libnss_mymachines + machined'));
  console.log(`\naim: ours within 2× of the floor and faster than libnss_mymachines`);
  if (failures.length) console.log(`\nFAILURES:\n${failures.map((f) => `- ${f}`).join('\n')}`);
  console.log(`BENCH_JSON ${JSON.stringify({ seconds: SECONDS, phases, failures })}`);
}

async function cleanup(): Promise<void> {
  for (const c of [...children].reverse()) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await Promise.race([new Promise((r) => c.once('exit', r)), sleep(5000)]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }
  rmSync(tmp, { recursive: true, force: true });
}

main()
  .catch((e: Error) => failures.push(`the benchmark failed: ${e.message}`))
  .then(cleanup)
  .then(() => {
    if (failures.length) log(`failed:\n${failures.join('\n')}`);
    process.exit(failures.length ? 1 : 0);
  });
