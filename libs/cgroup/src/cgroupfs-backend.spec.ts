/**
 * CgroupfsBackend against the real cgroup tree of this host (root needed). Everything lives in
 * `machinedtest.slice` under unit names carrying this run's PID, and is removed after each test
 * whatever happened, with plain fs calls rather than the code under test.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CgroupfsBackend } from './cgroupfs-backend.js';
import { detectHierarchy, type CgroupLayout } from './hierarchy.js';
import { parseProcCgroup } from './proc-cgroup.js';
import type { ScopeSpec, UnitLocation } from './scope-backend.js';

const SLICE = 'machinedtest.slice';
const RUN_TAG = `cgtest\\x2d${process.pid}\\x2d`;
let counter = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function hostLayout(): CgroupLayout | undefined {
  try {
    return detectHierarchy();
  } catch {
    return undefined;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function cgroupLines(pid: number): Promise<{ unified?: string; systemd?: string }> {
  const entries = parseProcCgroup(await readFile(`/proc/${pid}/cgroup`, 'utf8'));
  return {
    unified: entries.find((e) => e.id === 0)?.path,
    systemd: entries.find((e) => e.controllers.includes('name=systemd'))?.path,
  };
}

async function procsIn(dir: string): Promise<number[]> {
  const own = (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
  const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const below = await Promise.all(children.filter((e) => e.isDirectory()).map((e) => procsIn(join(dir, e.name))));
  return [...own, ...below.flat()];
}

/** Leaf-first rmdir, waiting for killed processes to leave. */
async function forceRemove(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (!existsSync(dir)) return;
    for (const pid of await procsIn(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const child of children.filter((e) => e.isDirectory())) await forceRemove(join(dir, child.name));
    try {
      await rmdir(dir);
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`test cleanup could not remove ${dir}`);
}

function firstFired(): { promise: Promise<void>; callback: () => void; count: () => number } {
  let count = 0;
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, callback: () => { count++; resolve(); }, count: () => count };
}

const layout = hostLayout();
const usable = process.getuid?.() === 0 && layout !== undefined && (layout.unified ?? layout.systemd) !== undefined;

(usable ? describe : describe.skip)('CgroupfsBackend on the real cgroup tree', function () {
  const host = layout!;
  const mounts = [host.unified, host.systemd].filter((m): m is string => m !== undefined);
  const children = new Set<ChildProcess>();
  const backends: CgroupfsBackend[] = [];
  let backend: CgroupfsBackend;

  function spawnSleep(): ChildProcess {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.add(child);
    return child;
  }

  /** A shell that forks only once told to, i.e. after the test has moved it into a scope. */
  function spawnForker(script: string): ChildProcess {
    const shell = spawn('sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    children.add(shell);
    return shell;
  }

  function newBackend(l: CgroupLayout = host, options = {}): CgroupfsBackend {
    const b = new CgroupfsBackend(l, { pollIntervalMs: 50, ...options });
    backends.push(b);
    return b;
  }

  function spec(pids: number[], extra: Partial<ScopeSpec> = {}): ScopeSpec {
    return { unit: `machine-${RUN_TAG}${++counter}.scope`, slice: SLICE, description: 'Container test', pids, properties: [], ...extra };
  }

  function dirsOf(location: UnitLocation): string[] {
    return mounts.map((m) => `${m}${location.cgroupPath}`);
  }

  beforeEach(() => {
    backend = newBackend();
  });

  afterEach(async () => {
    for (const b of backends.splice(0)) await b.close();
    for (const child of children) child.kill('SIGKILL');
    await Promise.all([...children].map(exited));
    children.clear();
    for (const mount of mounts) {
      const sliceDir = join(mount, SLICE);
      const ours = (await readdir(sliceDir).catch(() => [] as string[])).filter((n) => n.includes(RUN_TAG));
      for (const name of ours) await forceRemove(join(sliceDir, name));
      await rmdir(sliceDir).catch(() => undefined);
    }
  });

  it('creates the scope in cgroup2 and name=systemd and moves the leader into both', async () => {
    const leader = spawnSleep();
    const location = await backend.createScope(spec([leader.pid!]));
    expect(location).to.deep.equal({ unit: location.unit, cgroupPath: `/${SLICE}/${location.unit}`, subgroup: '' });
    const lines = await cgroupLines(leader.pid!);
    if (host.unified) expect(lines.unified).to.equal(location.cgroupPath);
    if (host.systemd) expect(lines.systemd).to.equal(location.cgroupPath);
    expect(await backend.exists(location)).to.equal(true);
    expect(await backend.members(location)).to.deep.equal([leader.pid]);
    expect(await backend.unitOfPid(leader.pid!)).to.deep.equal(location);
  });

  it('attaches more processes, and children forked later inherit the scope', async () => {
    const shell = spawn('sh', ['-c', 'read go; sleep 30 & echo $!; wait'], { stdio: ['pipe', 'pipe', 'ignore'] });
    children.add(shell);
    const location = await backend.createScope(spec([shell.pid!]));
    const extra = spawnSleep();
    await backend.attach(location, extra.pid!);
    shell.stdin!.write('go\n');
    const [line] = await createInterface({ input: shell.stdout! })[Symbol.asyncIterator]().next().then((r) => [String(r.value)]);
    const grandchild = Number(line);
    const lines = await cgroupLines(grandchild);
    if (host.unified) expect(lines.unified).to.equal(location.cgroupPath);
    if (host.systemd) expect(lines.systemd).to.equal(location.cgroupPath);
    expect(await backend.members(location)).to.have.members([shell.pid!, extra.pid!, grandchild]);
  });

  it('enforces TasksMax where the host can (cgroup2 pids, else the v1 pids hierarchy) and refuses what it cannot', async function () {
    const pidsV1 = host.hierarchy !== 'unified' ? host.controllers['pids'] : undefined;
    const leader = spawnSleep();
    const location = await backend.createScope(spec([leader.pid!]));
    const unifiedPids = host.unified ? join(host.unified, location.cgroupPath, 'pids.max') : undefined;
    if (!(unifiedPids && existsSync(unifiedPids)) && pidsV1 === undefined) this.skip();
    try {
      await backend.setLimits(location, [['TasksMax', 123n]]);
      expect(await backend.readLimit(location, 'TasksMax')).to.equal(123n);
      if (!(unifiedPids && existsSync(unifiedPids))) {
        // Hybrid host: the unit got a v1 pids cgroup with its processes in it.
        const dir = join(pidsV1!, location.cgroupPath);
        expect((await readFile(join(dir, 'pids.max'), 'utf8')).trim()).to.equal('123');
        expect((await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n')).to.include(String(leader.pid));
      }
      await backend.setLimits(location, [['TasksMax', 0xffff_ffff_ffff_ffffn]]);
      expect(await backend.readLimit(location, 'TasksMax')).to.equal(0xffff_ffff_ffff_ffffn);
      const memoryMax = host.unified ? join(host.unified, location.cgroupPath, 'memory.max') : undefined;
      if (!(memoryMax && existsSync(memoryMax))) {
        const err = await backend.setLimits(location, [['MemoryMax', 1n << 30n]]).then(() => undefined, (e: unknown) => e);
        expect(err).to.include({ name: 'CgroupError', code: 'ENOTSUP' });
      }
      const unknown = await backend.setLimits(location, [['CPUQuota', 1n]]).then(() => undefined, (e: unknown) => e);
      expect(unknown).to.include({ code: 'ENOTSUP' });

      await backend.killAll(location, 9);
      await exited(leader);
      await backend.remove(location);
      if (pidsV1) expect(existsSync(join(pidsV1, location.cgroupPath)), 'v1 pids cgroup removed').to.equal(false);
    } finally {
      if (pidsV1) {
        await forceRemove(join(pidsV1, location.cgroupPath));
        await rmdir(join(pidsV1, SLICE)).catch(() => undefined);
      }
    }
  });

  it('killAll(SIGTERM) empties the scope and watchEmpty fires exactly once', async () => {
    const a = spawnSleep();
    const b = spawnSleep();
    const location = await backend.createScope(spec([a.pid!, b.pid!]));
    const fired = firstFired();
    backend.watchEmpty(location, fired.callback);
    await backend.killAll(location, 15);
    await Promise.all([exited(a), exited(b)]);
    await fired.promise;
    expect(a.signalCode).to.equal('SIGTERM');
    expect(await backend.members(location)).to.deep.equal([]);
    await sleep(100);
    expect(fired.count()).to.equal(1);
  });

  it('killAll(SIGKILL) kills forked descendants too (cgroup.kill where the kernel has it)', async () => {
    const shell = spawnForker('sleep 30 & sleep 30 & wait');
    const location = await backend.createScope(spec([shell.pid!]));
    shell.stdin!.write('go\n');
    while ((await backend.members(location)).length < 3) await sleep(10);
    const fired = firstFired();
    backend.watchEmpty(location, fired.callback);
    await backend.killAll(location, 9);
    await fired.promise;
    await exited(shell);
    expect(shell.signalCode).to.equal('SIGKILL');
    expect(await backend.members(location)).to.deep.equal([]);
  });

  it('watchEmpty waits for the last process, and fires for a scope already empty', async () => {
    const a = spawnSleep();
    const b = spawnSleep();
    const location = await backend.createScope(spec([a.pid!, b.pid!]));
    const fired = firstFired();
    backend.watchEmpty(location, fired.callback);
    a.kill('SIGKILL');
    await exited(a);
    expect(await backend.members(location)).to.deep.equal([b.pid]);
    expect(fired.count()).to.equal(0);
    b.kill('SIGKILL');
    await fired.promise;

    const later = firstFired();
    backend.watchEmpty(location, later.callback);
    await later.promise;
    expect(fired.count()).to.equal(1);
    expect(later.count()).to.equal(1);
  });

  it('remove() leaves nothing behind, including an nspawn-style payload sub-cgroup', async () => {
    const leader = spawnSleep();
    const inner = spawnSleep();
    const location = await backend.createScope(spec([leader.pid!]));
    for (const dir of dirsOf(location)) {
      await mkdir(join(dir, 'payload'));
      await writeFile(join(dir, 'payload', 'cgroup.procs'), String(inner.pid));
    }
    expect(await backend.unitOfPid(inner.pid!)).to.deep.equal({ ...location, subgroup: 'payload' });
    expect(await backend.members(location)).to.have.members([leader.pid!, inner.pid!]);
    const fired = firstFired();
    backend.watchEmpty(location, fired.callback);
    await backend.killAll(location, 9);
    await fired.promise;
    await backend.remove(location);
    for (const dir of dirsOf(location)) expect(existsSync(dir), dir).to.equal(false);
    expect(await backend.exists(location)).to.equal(false);
    await backend.remove(location); // a second removal finds nothing and is fine
  });

  it('remove() refuses a scope that still has processes (EBUSY) and keeps it', async () => {
    const leader = spawnSleep();
    const busy = newBackend(host, { busyTimeoutMs: 50 });
    const location = await busy.createScope(spec([leader.pid!]));
    const err = await busy.remove(location).then(() => undefined, (e: unknown) => e);
    expect(err).to.include({ name: 'CgroupError', code: 'EBUSY' });
    expect((err as Error).message).to.include(location.cgroupPath);
    expect(await busy.exists(location)).to.equal(true);
  });

  it('createScope fails cleanly for a PID that does not exist', async () => {
    const ghost = await findFreePid();
    const s = spec([ghost]);
    const err = await backend.createScope(s).then(() => undefined, (e: unknown) => e);
    expect(err).to.include({ name: 'CgroupError', code: 'ESRCH' });
    expect((err as Error).message).to.include(String(ghost));
    for (const mount of mounts) expect(existsSync(`${mount}/${SLICE}/${s.unit}`)).to.equal(false);
  });

  it('createScope rolls back moved PIDs and created directories when a later PID fails', async () => {
    // A /proc where the ghost still "exists", so the failure happens at the cgroup.procs write.
    const leader = spawnSleep();
    const ghost = await findFreePid();
    const proc = await mkdtemp(join(tmpdir(), 'cgroup-proc-'));
    try {
      for (const pid of [leader.pid!, ghost]) {
        await mkdir(join(proc, String(pid)));
        await writeFile(join(proc, String(pid), 'cgroup'), await readFile(`/proc/${leader.pid}/cgroup`));
      }
      const before = await cgroupLines(leader.pid!);
      const s = spec([leader.pid!, ghost]);
      const err = await newBackend(host, { procRoot: proc }).createScope(s).then(() => undefined, (e: unknown) => e);
      expect(err).to.include({ name: 'CgroupError', code: 'ESRCH' });
      expect((err as Error).message).to.match(/cgroup\.procs: ESRCH/);
      for (const mount of mounts) expect(existsSync(`${mount}/${SLICE}/${s.unit}`)).to.equal(false);
      expect(await cgroupLines(leader.pid!)).to.deep.equal(before);
    } finally {
      await rm(proc, { recursive: true, force: true });
    }
  });

  it('refuses to create a scope that exists with processes', async () => {
    const leader = spawnSleep();
    const other = spawnSleep();
    const s = spec([leader.pid!]);
    const location = await backend.createScope(s);
    const err = await backend.createScope({ ...s, pids: [other.pid!] }).then(() => undefined, (e: unknown) => e);
    expect(err).to.include({ code: 'EEXIST' });
    expect(await backend.members(location)).to.deep.equal([leader.pid]);
  });

  it('survives odd property values, and reads accounting where the files exist', async () => {
    const leader = spawnSleep();
    const odd = [['TasksMax', 't', 'many'], ['MemoryMax', 't', { x: 1 }], ['Whatever', 'as', ['a']], ['CPUWeight', 'b', true]];
    const location = await backend.createScope(spec([leader.pid!], { properties: odd as ScopeSpec['properties'] }));
    const accounting = await backend.accounting(location);
    const unifiedDir = host.unified ? `${host.unified}${location.cgroupPath}` : undefined;
    if (unifiedDir && existsSync(join(unifiedDir, 'cpu.stat'))) expect(accounting.cpuUsageNsec).to.be.a('bigint');
    if (unifiedDir && existsSync(join(unifiedDir, 'pids.current'))) expect(accounting.tasksCurrent).to.equal(1n);
    const memoryFile = unifiedDir && existsSync(join(unifiedDir, 'memory.current'));
    const v1Memory = host.controllers['memory'] && existsSync(`${host.controllers['memory']}${location.cgroupPath}`);
    if (!memoryFile && !v1Memory) expect(accounting.memoryCurrent).to.equal(undefined);
  });

  it('unitOfPid: null outside units, ESRCH for a PID that does not exist', async () => {
    const loose = spawnSleep();
    const lines = await cgroupLines(loose.pid!);
    if ((host.hierarchy === 'legacy' ? lines.systemd : lines.unified) === '/') {
      expect(await backend.unitOfPid(loose.pid!)).to.equal(null);
    }
    const err = await backend.unitOfPid(await findFreePid()).then(() => undefined, (e: unknown) => e);
    expect(err).to.include({ code: 'ESRCH' });
  });

  (host.systemd ? it : it.skip)('works on a name=systemd-only (legacy) layout: polling and kill loop', async () => {
    const legacy = newBackend({ hierarchy: 'legacy', root: host.root, systemd: host.systemd!, controllers: {} });
    const shell = spawnForker('sleep 30 & wait');
    const location = await legacy.createScope(spec([shell.pid!]));
    shell.stdin!.write('go\n');
    expect((await cgroupLines(shell.pid!)).systemd).to.equal(location.cgroupPath);
    expect(await legacy.unitOfPid(shell.pid!)).to.deep.equal(location);
    while ((await legacy.members(location)).length < 2) await sleep(10);
    const fired = firstFired();
    legacy.watchEmpty(location, fired.callback);
    await legacy.killAll(location, 9);
    await fired.promise;
    await legacy.remove(location);
    expect(existsSync(`${host.systemd}${location.cgroupPath}`)).to.equal(false);
    expect(fired.count()).to.equal(1);
  });
});

/** A PID with no process, searched downwards from the top of the PID range. */
async function findFreePid(): Promise<number> {
  const max = Number((await readFile('/proc/sys/kernel/pid_max', 'utf8')).trim());
  for (let pid = max - 1; pid > 1; pid--) if (!existsSync(`/proc/${pid}`)) return pid;
  throw new Error('no free PID');
}
