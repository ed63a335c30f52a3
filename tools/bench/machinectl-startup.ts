/**
 * machinectl start-up benchmark: median wall time of `machinectl list` for our machinectl
 * (apps/machinectl/dist/bin/machinectl.cjs under node) and Debian's systemd 252 machinectl, in the
 * same run, against our machined on a private bus with 10 and then 100 machines registered
 * (leaders: `sleep` processes). Also `node -e 0` (the floor any Node CLI pays) and, when the
 * environment sets NODE_EXTRA_CA_CERTS, ours with it (Node loads the CA file at start-up, about
 * 40 ms here; it is the user's setting, outside our control, so the main figure is without it).
 *
 * Runs inside e2e/run-in-namespace.sh (it re-executes itself there), where /run/systemd is a
 * private tmpfs with /run/systemd/system, so the real machinectl runs on a host whose PID 1 is
 * not systemd. machined keeps its state, runtime and pool in a temporary directory.
 *
 * Prints figures and never asserts timing; exits 1 only when something failed functionally (a
 * listing that does not show every machine, a machine or leader left behind).
 *
 * usage: node --import tsx tools/bench/machinectl-startup.ts      (as root; machined and
 *        machinectl built: npx nx run-many -t build -p machined machinectl)
 * environment: BENCH_STARTUP_RUNS (20) timed runs per figure, after 3 warm-up runs;
 *              BENCH_MACHINECTL: another build of ours to measure (default the dist bundle);
 *              BENCH_CPU_PROF_DIR: also write a V8 CPU profile of one run of ours per level there.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import dbus from 'dbus-next';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OURS = process.env.BENCH_MACHINECTL ?? join(REPO, 'apps/machinectl/dist/bin/machinectl.cjs');
const MACHINED = join(REPO, 'apps/machined/dist/bin/machined.mjs');
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 20);
const WARMUP = 3;
const LEVELS = [10, 100];
const PREFIX = `mcbench${randomBytes(3).toString('hex')}`;

const log = (s: string) => process.stderr.write(`machinectl-startup: ${s}\n`);

if (process.env.MACHINED_E2E_NAMESPACE !== '1') {
  if (process.getuid?.() !== 0) {
    log('needs root (mount namespace, cgroups)');
    process.exit(1);
  }
  for (const f of [OURS, MACHINED]) {
    if (!existsSync(f)) {
      log(`${f} is missing: build first (npx nx run-many -t build -p machined machinectl)`);
      process.exit(1);
    }
  }
  const r = spawnSync('bash', [join(REPO, 'e2e/run-in-namespace.sh'), process.execPath, ...process.execArgv, fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const tmp = mkdtempSync(join(tmpdir(), 'machinectl-startup-'));
const children = new Set<ChildProcess>();
const leaders: ChildProcess[] = [];
const failures: string[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function startBus(): Promise<string> {
  const socket = join(tmp, 'bus.sock');
  const conf = join(tmp, 'bus.conf');
  writeFileSync(
    conf,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy>
<limit name="max_match_rules_per_connection">50000</limit><limit name="max_replies_per_connection">50000</limit></busconfig>\n`,
  );
  const child = spawn('dbus-daemon', [`--config-file=${conf}`, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.add(child);
  await new Promise<void>((res, rej) => {
    child.stdout!.once('data', () => res());
    child.once('exit', (c) => rej(new Error(`dbus-daemon exited (${c})`)));
  });
  return `unix:path=${socket}`;
}

async function call(bus: dbus.MessageBus, member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
  const reply = await bus.call(
    new dbus.Message({ destination: 'org.freedesktop.machine1', path: '/org/freedesktop/machine1', interface: 'org.freedesktop.machine1.Manager', member, signature, body }),
  );
  return reply?.body ?? [];
}

async function startMachined(address: string, bus: dbus.MessageBus): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [MACHINED, '--bus-address', address, '--state-dir', join(tmp, 'state'), '--runtime-dir', join(tmp, 'run'), '--pool-path', join(tmp, 'pool'), '--log-level', 'warning', '--terminate-timeout', '3'],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } },
  );
  children.add(child);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await bus.call(
      new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameHasOwner', signature: 's', body: ['org.freedesktop.machine1'] }),
    );
    if (r?.body[0] === true) return child;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('machined did not take org.freedesktop.machine1');
    await new Promise((r2) => setTimeout(r2, 50));
  }
}

async function addMachines(bus: dbus.MessageBus, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const leader = spawn('sleep', ['3600'], { stdio: 'ignore', detached: true });
    leaders.push(leader);
    await new Promise<void>((res, rej) => {
      leader.once('spawn', () => res());
      leader.once('error', rej);
    });
    await call(bus, 'RegisterMachine', 'sayssus', [`${PREFIX}-${String(i).padStart(3, '0')}`, Buffer.alloc(0), 'bench', 'container', leader.pid!, '']);
  }
}

/** Wall time of one run, in ms, from spawn to exit; checks the listing. */
function timeOnce(cmd: string, args: string[], env: NodeJS.ProcessEnv, expectMachines: number): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  const t = performance.now() - t0;
  if (r.status !== 0) failures.push(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  else if (expectMachines >= 0 && !r.stdout.includes(`\n${expectMachines} machines listed.\n`)) failures.push(`${cmd} ${args.join(' ')} did not list ${expectMachines} machines`);
  return t;
}

function measure(label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, expectMachines: number): number {
  for (let i = 0; i < WARMUP; i++) timeOnce(cmd, args, env, expectMachines);
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) xs.push(timeOnce(cmd, args, env, expectMachines));
  const m = median(xs);
  log(`${label}: median ${m.toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`);
  return m;
}

/** Removes any cgroup of this run that machined may have left (it should leave none). */
function sweepCgroups(): string[] {
  const left: string[] = [];
  for (const mount of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup']) {
    const slice = join(mount, 'machine.slice');
    if (!existsSync(slice)) continue;
    for (const d of readdirSync(slice)) {
      if (!d.startsWith(`machine-${PREFIX}`)) continue;
      left.push(join(slice, d));
      try {
        for (const pid of readFileSync(join(slice, d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
        rmdirSync(join(slice, d));
      } catch {
        /* best effort */
      }
    }
  }
  return left;
}

async function main(): Promise<void> {
  const address = await startBus();
  const bus = dbus.sessionBus({ busAddress: address } as never);
  await new Promise<void>((res, rej) => {
    bus.once('connect', () => res());
    bus.once('error', rej);
  });
  const machined = await startMachined(address, bus);
  const clean: NodeJS.ProcessEnv = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address, SYSTEMD_COLORS: '0' };
  delete clean.NODE_EXTRA_CA_CERTS;
  delete clean.NODE_OPTIONS;
  const withCa = process.env.NODE_EXTRA_CA_CERTS;
  const results: Record<string, number> = {};

  results.node_floor_ms = measure('node -e 0', process.execPath, ['-e', '0'], clean, -1);
  let have = 0;
  for (const n of LEVELS) {
    log(`registering machines up to ${n}`);
    await addMachines(bus, have, n);
    have = n;
    results[`ours_${n}_ms`] = measure(`ours, ${n} machines`, process.execPath, [OURS, '--no-pager', 'list'], clean, n);
    results[`systemd_${n}_ms`] = measure(`systemd 252, ${n} machines`, 'machinectl', ['--no-pager', 'list'], clean, n);
    if (process.env.BENCH_CPU_PROF_DIR) {
      // One profiled run per level, for finding where start-up goes (chrome://inspect or speedscope).
      spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', process.env.BENCH_CPU_PROF_DIR, OURS, '--no-pager', 'list'], { env: clean });
    }
    if (withCa) {
      results[`ours_${n}_with_node_extra_ca_certs_ms`] = measure(`ours with NODE_EXTRA_CA_CERTS, ${n} machines`, process.execPath, [OURS, '--no-pager', 'list'], { ...clean, NODE_EXTRA_CA_CERTS: withCa }, n);
    }
  }

  // Clean up: terminate every machine (its leader dies, machined removes its scope), then stop.
  const [listed] = (await call(bus, 'ListMachines')) as [Array<[string]>];
  await Promise.all(listed.filter(([name]) => name.startsWith(PREFIX)).map(([name]) => call(bus, 'TerminateMachine', 's', [name]).catch(() => undefined)));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const [now] = (await call(bus, 'ListMachines')) as [Array<[string]>];
    if (!now.some(([name]) => name.startsWith(PREFIX))) break;
    if (Date.now() > deadline) {
      failures.push('machines still registered 15 s after TerminateMachine');
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  bus.disconnect();
  machined.kill('SIGTERM');

  const row = (label: string, a: number | undefined, b: number | undefined) =>
    `${label.padEnd(46)} ${a === undefined ? '' : a.toFixed(1).padStart(8)} ${b === undefined ? '' : b.toFixed(1).padStart(8)}`;
  const out = [
    `machinectl list, median wall time of ${RUNS} runs (ms)   10 mach.  100 mach.`,
    row('ours (node + bundle, NODE_EXTRA_CA_CERTS unset)', results.ours_10_ms, results.ours_100_ms),
    row('systemd 252 machinectl', results.systemd_10_ms, results.systemd_100_ms),
    row('node -e 0 (floor of any Node CLI)', results.node_floor_ms, undefined),
  ];
  if (withCa) out.push(row('ours with NODE_EXTRA_CA_CERTS as set here', results.ours_10_with_node_extra_ca_certs_ms, results.ours_100_with_node_extra_ca_certs_ms));
  out.push('aim: ours under 60 ms at 10 and at 100 machines');
  process.stdout.write(out.join('\n') + '\n');
  process.stdout.write(`BENCH_JSON ${JSON.stringify({ runs: RUNS, ...results })}\n`);
}

async function cleanup(): Promise<void> {
  for (const l of leaders) if (l.exitCode === null && l.signalCode === null) l.kill('SIGKILL');
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          c.kill('SIGKILL');
          r();
        }, 5000);
        c.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  const left = sweepCgroups();
  if (left.length) failures.push(`cgroups left behind (removed now): ${left.join(', ')}`);
  rmSync(tmp, { recursive: true, force: true });
}

process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
main()
  .catch((e: unknown) => failures.push(`benchmark failed: ${(e as Error).message}`))
  .finally(async () => {
    await cleanup();
    for (const f of failures) log(`FAILED: ${f}`);
    process.exit(failures.length ? 1 : 0);
  });
