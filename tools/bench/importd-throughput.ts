/**
 * importd throughput: pull-tar of an image over a loopback HTTP server and import-tar of the same
 * file (uncompressed and xz), each beside the same work done by `curl URL | tar -x` and by plain
 * `tar -x`, all in the same run on the same file system, so the ratios are what counts (the
 * issue's aim: import-tar of an uncompressed image at ≥ 0.8 of plain `tar -x`).
 *
 * The image is generated at bench time in a temporary directory: a tree of SIZE MiB (default 1024)
 * in files of mixed sizes (most of the bytes in 1–8 MiB files, many 16–64 KiB and 1–4 KiB files,
 * symlinks), a quarter of them random bytes and the rest word-like text, so xz gets a realistic
 * ratio. It is packed with `tar --numeric-owner` and `xz -T0 -2`. importd (the built bundle) runs
 * on a private dbus-daemon with its pool in the temporary directory; the benchmark calls
 * ImportTar (passing the file's fd) and PullTar (verify=no) over dbus-next and times each from the
 * call to TransferRemoved. Every figure is (uncompressed tar bytes) / (wall seconds), in MB/s
 * (10^6 bytes). Before each timed run the previous output is removed and `sync` runs (untimed);
 * the archives are read once beforehand, so every reader gets them from the page cache.
 *
 * Prints a table and a last line `BENCH_JSON {…}`; never asserts on timing. Exits 1 only when
 * something failed functionally (a transfer not `done`, an extracted tree of the wrong size, a
 * tool failing) or when something was left behind. Everything it creates is removed at the end,
 * on failure and on Ctrl-C.
 *
 * usage: node --import tsx tools/bench/importd-throughput.ts [--size-mb N] [--runs N]
 *        (as root, importd built: npx nx run importd:build; or tools/bench/run.sh importd)
 * environment: BENCH_IMPORT_SIZE_MB (1024), BENCH_IMPORT_RUNS (1: each figure is the median of
 *              that many runs), IMPORTD_ENTRY (another importd bundle), BENCH_TMPDIR (where the
 *              temporary directory goes; default the OS's, which must have ~4× SIZE free).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import dbus from 'dbus-next';
import type { Message as DbusMessage, MessageBus } from 'dbus-next';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const IMPORTD = process.env.IMPORTD_ENTRY ?? join(REPO, 'apps/importd/dist/bin/importd.mjs');
const I1 = 'org.freedesktop.import1';
const I1_PATH = '/org/freedesktop/import1';
const MANAGER = 'org.freedesktop.import1.Manager';
const MiB = 1 << 20;

const { values: flags } = parseArgs({
  options: { 'size-mb': { type: 'string' }, runs: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  strict: true,
});
if (flags.help) {
  process.stdout.write('usage: importd-throughput.ts [--size-mb N] [--runs N]   (see the header of this file)\n');
  process.exit(0);
}
const SIZE_MB = Number(flags['size-mb'] ?? process.env.BENCH_IMPORT_SIZE_MB ?? 1024);
const RUNS = Number(flags.runs ?? process.env.BENCH_IMPORT_RUNS ?? 1);
if (!(SIZE_MB >= 1) || !Number.isInteger(RUNS) || RUNS < 1) {
  process.stderr.write('importd-throughput: --size-mb must be ≥ 1 and --runs a positive integer\n');
  process.exit(2);
}

const log = (s: string) => process.stderr.write(`importd-throughput: ${s}\n`);
const failures: string[] = [];
const fail = (s: string) => {
  failures.push(s);
  log(`FAILED: ${s}`);
};

const children = new Set<ChildProcess>();
let tmp = '';
let server: http.Server | undefined;
const sockets = new Set<Socket>();
let client: MessageBus | undefined;

// ───────────────────────────── the test image ─────────────────────────────

/**
 * Text-like bytes: letters drawn with English-like frequencies, spaces and newlines (about 4 bits
 * of entropy per byte, so xz gets roughly 2:1 on it, 2.5:1 over the whole tree... of the order of
 * a real OS tree). A lookup table keeps 32 MiB at a fraction of a second.
 */
function textPool(bytes: number): Buffer {
  const weighted = 'eeeeeeeeeeeetttttttttaaaaaaaaoooooooiiiiiiinnnnnnnsssssshhhhhhrrrrrrddddllllcccuuummwwffggyyppbbvkjxqz          \n';
  const table = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) table[i] = weighted.charCodeAt(i % weighted.length);
  const out = randomBytes(bytes);
  for (let i = 0; i < bytes; i++) out[i] = table[out[i]!]!;
  return out;
}

/** Writes the tree; returns its number of regular files and their total bytes. */
function generateTree(root: string, totalBytes: number): { files: number; bytes: number } {
  const pool = textPool(32 * MiB);
  const randomPool = randomBytes(32 * MiB);
  const sizeRnd = randomBytes(4);
  let seed = sizeRnd.readUInt32LE(0) | 1;
  const rnd = () => {
    // xorshift32: reproducible enough, fast, no crypto call per file
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  let bytes = 0;
  let files = 0;
  let dir = '';
  const content = (size: number) => {
    const src = rnd() < 0.25 ? randomPool : pool;
    const at = Math.floor(rnd() * (src.length - size));
    return src.subarray(at, at + size);
  };
  while (bytes < totalBytes) {
    if (files % 100 === 0) {
      dir = join(root, `usr/share/d${Math.floor(files / 100)}`);
      mkdirSync(dir, { recursive: true });
    }
    const kind = rnd();
    // Of the bytes: ~80 % in 1–8 MiB files, ~15 % in 16–64 KiB files, the rest in 1–4 KiB files.
    let size = kind < 0.06 ? MiB + Math.floor(rnd() * 7 * MiB) : kind < 0.5 ? 16384 + Math.floor(rnd() * 49152) : 1024 + Math.floor(rnd() * 3072);
    size = Math.min(size, totalBytes - bytes, 30 * MiB);
    writeFileSync(join(dir, `f${files}`), content(size));
    if (files % 50 === 7) symlinkSync(`f${files}`, join(dir, `l${files}`));
    bytes += size;
    files++;
  }
  mkdirSync(join(root, 'etc'), { recursive: true });
  const osRelease = 'ID=bench\nPRETTY_NAME="importd bench tree"\n';
  writeFileSync(join(root, 'etc/os-release'), osRelease);
  return { files: files + 1, bytes: bytes + osRelease.length };
}

// ───────────────────────────── processes ─────────────────────────────

function sh(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}): ${r.stderr?.toString().trim()}`);
}

function startChild(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

async function startBus(): Promise<string> {
  const socket = join(tmp, 'bus.sock');
  const conf = join(tmp, 'bus.conf');
  writeFileSync(
    conf,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>
`,
  );
  const child = startChild('dbus-daemon', [`--config-file=${conf}`, '--nofork', '--print-address']);
  await new Promise<void>((res, rej) => {
    child.stdout!.once('data', () => res());
    child.once('exit', (c) => rej(new Error(`dbus-daemon exited (${c})`)));
  });
  return `unix:path=${socket}`;
}

async function call(bus: MessageBus, member: string, signature = '', body: unknown[] = []): Promise<any[]> {
  const reply = await bus.call(new dbus.Message({ destination: I1, path: I1_PATH, interface: MANAGER, member, signature, body }));
  return reply?.body ?? [];
}

/** Resolves with the result of the transfer at `path` (TransferRemoved), collecting its LogMessages. */
function transferResults(bus: MessageBus): { wait(path: string): Promise<{ result: string; log: string[] }> } {
  const results = new Map<string, string>();
  const logs = new Map<string, string[]>();
  const waiters = new Map<string, () => void>();
  bus.on('message', (m: DbusMessage) => {
    if (m.type !== dbus.MessageType.SIGNAL) return;
    if (m.member === 'LogMessage') {
      const l = logs.get(m.path) ?? [];
      l.push(m.body[1] as string);
      logs.set(m.path, l);
    } else if (m.member === 'TransferRemoved' && m.interface === MANAGER) {
      const path = m.body[1] as string;
      results.set(path, m.body[2] as string);
      waiters.get(path)?.();
    }
  });
  return {
    wait: (path) =>
      new Promise((res) => {
        const done = () => res({ result: results.get(path)!, log: logs.get(path) ?? [] });
        if (results.has(path)) done();
        else waiters.set(path, done);
      }),
  };
}

async function addMatch(bus: MessageBus, rule: string): Promise<void> {
  await bus.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule] }));
}

function startServer(files: Record<string, string>): Promise<string> {
  server = http.createServer((req, res) => {
    const f = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': statSync(f).size, 'content-type': 'application/octet-stream' });
    createReadStream(f, { highWaterMark: MiB }).pipe(res);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return new Promise((res) => server!.listen(0, '127.0.0.1', () => res(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`)));
}

// ───────────────────────────── measuring ─────────────────────────────

/** Apparent size of the regular files under `dir` (du -sb --apparent-size counts dirs too; this does not). */
function treeBytes(dir: string): number {
  const r = spawnSync('find', [dir, '-type', 'f', '-printf', '%s\n'], { maxBuffer: 256 * MiB });
  return r.stdout
    .toString()
    .split('\n')
    .filter(Boolean)
    .reduce((a, b) => a + Number(b), 0);
}

function resetOutput(path: string): void {
  spawnSync('chattr', ['-i', path], { stdio: 'ignore' });
  rmSync(path, { recursive: true, force: true });
  sh('sync', [], 'sync');
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

function runTool(cmd: string, args: string[], what: string): Promise<void> {
  return new Promise((res, rej) => {
    const c = startChild(cmd, args);
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    c.stdout!.resume();
    c.once('exit', (code, sig) => (code === 0 ? res() : rej(new Error(`${what}: exit ${code ?? sig}: ${err.trim()}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

// ───────────────────────────── main ─────────────────────────────

async function cleanup(): Promise<void> {
  try {
    client?.disconnect();
  } catch {
    // gone
  }
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  for (const c of children) c.kill('SIGTERM');
  const deadline = Date.now() + 12_000;
  while (children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const c of children) {
    fail(`${c.spawnfile} ${c.pid} did not exit on SIGTERM; killed`);
    c.kill('SIGKILL');
  }
  if (tmp && existsSync(tmp)) {
    spawnSync('chattr', ['-R', '-i', tmp], { stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(tmp)) fail(`${tmp} left behind`);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (importd extracts with the archive\'s ownership)');
  if (!existsSync(IMPORTD)) throw new Error(`${IMPORTD} is missing: build first (npx nx run importd:build)`);
  for (const t of ['tar', 'xz', 'curl', 'dbus-daemon']) if (spawnSync('which', [t]).status !== 0) throw new Error(`${t} not found`);
  tmp = mkdtempSync(join(process.env.BENCH_TMPDIR ?? tmpdir(), 'importd-bench-'));
  const tree = join(tmp, 'tree');
  const pool = join(tmp, 'pool');
  const out = join(tmp, 'out');
  mkdirSync(pool);
  mkdirSync(join(tmp, 'run'));

  log(`generating a ${SIZE_MB} MiB tree in ${tree}`);
  const t0 = performance.now();
  const gen = generateTree(tree, SIZE_MB * MiB);
  const tarFile = join(tmp, 'image.tar');
  const xzFile = join(tmp, 'image.tar.xz');
  sh('tar', ['-C', tree, '--numeric-owner', '-cf', tarFile, '.'], 'tar -c');
  log(`compressing with xz -T0 -2`);
  sh('xz', ['-T0', '-2', '-k', tarFile], 'xz');
  rmSync(tree, { recursive: true, force: true });
  const tarBytes = statSync(tarFile).size;
  const xzBytes = statSync(xzFile).size;
  log(`image: ${gen.files} files, ${(gen.bytes / MiB).toFixed(0)} MiB of data; tar ${(tarBytes / MiB).toFixed(0)} MiB, tar.xz ${(xzBytes / MiB).toFixed(0)} MiB (${((performance.now() - t0) / 1000).toFixed(0)} s to make)`);
  sh('cat', [tarFile, xzFile], 'warming the page cache');

  const busAddress = await startBus();
  const importd = startChild(process.execPath, [IMPORTD, '--bus-address', busAddress, '--pool-path', pool, '--runtime-dir', join(tmp, 'run'), '--log-level', 'warning'], {
    ...process.env,
    DBUS_SYSTEM_BUS_ADDRESS: undefined,
    NODE_OPTIONS: undefined,
  });
  let importdErr = '';
  importd.stderr!.on('data', (d: Buffer) => (importdErr += d.toString()));
  client = dbus.sessionBus({ busAddress, negotiateUnixFd: true } as never);
  await new Promise<void>((res, rej) => {
    client!.once('connect', () => res());
    client!.once('error', rej);
  });
  const transfers = transferResults(client);
  await addMatch(client, `type='signal',sender='${I1}'`);
  for (let i = 0; ; i++) {
    const [has] = await client.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameHasOwner', signature: 's', body: [I1] })).then((m) => m!.body);
    if (has) break;
    if (i > 200 || importd.exitCode !== null) throw new Error(`importd did not start: ${importdErr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const base = await startServer({ '/image.tar': tarFile, '/image.tar.xz': xzFile });

  type Method = 'tar -x' | 'curl | tar -x' | 'import-tar' | 'pull-tar';
  const figures: { format: string; method: Method; seconds: number; mbps: number }[] = [];
  let n = 0;
  const transfer = async (member: string, signature: string, body: unknown[], what: string, image: string) => {
    const [, path] = await call(client!, member, signature, body);
    const { result, log: lines } = await transfers.wait(path as string);
    if (result !== 'done') throw new Error(`${what}: transfer ${result}: ${lines.slice(-2).join(' / ')}`);
    if (!existsSync(join(pool, image, 'etc/os-release'))) throw new Error(`${what}: no image ${image} in the pool`);
  };

  for (const [format, file] of [['uncompressed', tarFile], ['xz', xzFile]] as const) {
    const methods: [Method, (target: string) => Promise<void>, (target: string) => string][] = [
      ['tar -x', (d) => runTool('tar', ['--numeric-owner', '-xf', file, '-C', d], 'tar -x'), (d) => d],
      ['curl | tar -x', (d) => runTool('bash', ['-o', 'pipefail', '-c', `curl -sS --fail ${base}/${file.slice(tmp.length + 1)} | tar --numeric-owner -x${format === 'xz' ? 'J' : ''}f - -C ${d}`], 'curl | tar -x'), (d) => d],
      [
        'import-tar',
        async (d) => {
          const fd = openSync(file, 'r');
          try {
            await transfer('ImportTar', 'hsbb', [fd, d.slice(pool.length + 1), false, false], 'import-tar', d.slice(pool.length + 1));
          } finally {
            closeSync(fd);
          }
        },
        () => join(pool, `bench${n++}`),
      ],
      ['pull-tar', (d) => transfer('PullTar', 'sssb', [`${base}/${file.slice(tmp.length + 1)}`, d.slice(pool.length + 1), 'no', false], 'pull-tar', d.slice(pool.length + 1)), () => join(pool, `bench${n++}`)],
    ];
    for (const [method, run, target] of methods) {
      const times: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const d = target(out);
        resetOutput(d);
        if (!d.startsWith(pool)) mkdirSync(d);
        log(`${format}: ${method} (run ${r + 1}/${RUNS})`);
        times.push(await timeIt(() => run(d)));
        const got = treeBytes(d);
        if (got !== gen.bytes) fail(`${format} ${method}: extracted ${got} bytes of file data, expected ${gen.bytes}`);
        resetOutput(d);
      }
      const seconds = median(times);
      figures.push({ format, method, seconds, mbps: tarBytes / 1e6 / seconds });
    }
  }

  // ── the table ──
  const fig = (format: string, method: Method) => figures.find((f) => f.format === format && f.method === method)!;
  const lines = [
    `importd throughput: ${SIZE_MB} MiB tree, ${gen.files} files; tar ${(tarBytes / 1e6).toFixed(0)} MB, tar.xz ${(xzBytes / 1e6).toFixed(0)} MB; ${RUNS} run(s) per figure (median); MB/s = tar bytes / wall time`,
    '',
    'format        method          seconds    MB/s   vs tar -x   vs curl|tar',
  ];
  for (const f of figures) {
    const vsTar = f.mbps / fig(f.format, 'tar -x').mbps;
    const vsCurl = f.mbps / fig(f.format, 'curl | tar -x').mbps;
    lines.push(`${f.format.padEnd(13)} ${f.method.padEnd(15)} ${f.seconds.toFixed(2).padStart(7)} ${f.mbps.toFixed(1).padStart(7)} ${vsTar.toFixed(2).padStart(11)} ${vsCurl.toFixed(2).padStart(13)}`);
  }
  const aim = fig('uncompressed', 'import-tar').mbps / fig('uncompressed', 'tar -x').mbps;
  lines.push('', `aim: import-tar (uncompressed) ≥ 0.80 of plain tar -x: ${aim.toFixed(2)} ${aim >= 0.8 ? '(met)' : '(not met)'}`);
  process.stdout.write(lines.join('\n') + '\n');
  const json = {
    sizeMiB: SIZE_MB,
    files: gen.files,
    tarBytes,
    xzBytes,
    runs: RUNS,
    figures: figures.map((f) => ({ ...f, vsTar: f.mbps / fig(f.format, 'tar -x').mbps, vsCurl: f.mbps / fig(f.format, 'curl | tar -x').mbps })),
    importUncompressedVsTar: aim,
  };
  process.stdout.write(`BENCH_JSON ${JSON.stringify(json)}\n`);
}

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await cleanup();
  if (failures.length > 0) {
    process.stdout.write(`FAILURES:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
    code = 1;
  }
  process.exit(code);
};
process.once('SIGINT', () => void stop(130));
process.once('SIGTERM', () => void stop(143));
main().then(
  () => stop(0),
  (e: Error) => {
    fail(e.message);
    return stop(1);
  },
);
