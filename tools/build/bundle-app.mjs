#!/usr/bin/env node
// Builds an app's self-contained deployable in apps/<app>/dist: one ESM bundle of the app and the
// workspace libs it uses (from their sources), the native modules left external, a package.json
// naming only those runtime dependencies, and the app's service files from apps/<app>/deploy.
import { build } from 'esbuild';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = process.argv[2];
// --cli: a command-line tool whose start-up is felt on every call. It is bundled as minified
// CommonJS (bin/<app>.cjs): Node 20 loads a CommonJS file ~7 ms faster than the same code as an
// ES module (no ESM loader, no module-graph linking), and minifying halves what V8 must scan.
const cli = process.argv.includes('--cli');
if (!app || process.argv.slice(3).some((a) => a !== '--cli')) {
  console.error('usage: bundle-app.mjs <app> [--cli]');
  process.exit(2);
}
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const appDir = join(root, 'apps', app);
// Built beside dist and swapped in at the end, so a daemon or test using the previous build never
// sees a half-written or missing dist while a build runs.
const finalDist = join(appDir, 'dist');
const dist = join(appDir, `.dist-build-${process.pid}`);
process.on('exit', () => rmSync(dist, { recursive: true, force: true }));
const appPkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// Native addons cannot be bundled; they stay external and become the deployable's dependencies.
// x11 is an optional require inside dbus-next that is never taken on a unix socket.
const NATIVE = ['usocket', 'zeromq', 'node-pty'];
const external = [...NATIVE, 'x11'];

// In a CLI, node builtins that a dependency requires at load time but uses only on rare paths
// are loaded on first use instead: dbus-next's handshake requires crypto (~3 ms) for the
// DBUS_COOKIE_SHA1 mechanism, which a system bus over a unix socket never asks for.
const LAZY_BUILTINS = /^(node:)?crypto$/;
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: LAZY_BUILTINS }, (args) =>
      /node_modules[\\/]dbus-next[\\/]/.test(args.importer) ? { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: `let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:${args.path}'))[k] });`,
      loader: 'js',
    }));
  },
};

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'bin'), { recursive: true });
const binName = `${app}.${cli ? 'cjs' : 'mjs'}`;
// A CLI's bundle goes to lib/, run by a small launcher in bin/ that keeps a V8 code cache.
const outfile = cli ? join(dist, 'lib', `${app}.cjs`) : join(dist, 'bin', binName);
if (cli) mkdirSync(join(dist, 'lib'), { recursive: true });
await build({
  entryPoints: [join(appDir, 'src', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: cli ? 'cjs' : 'esm',
  minify: cli,
  plugins: cli ? [lazyBuiltins] : [],
  // import() becomes require(): the launcher runs the bundle as a vm.Script, where import() would
  // need vm's still-experimental main-context loader (and its warning on stderr).
  ...(cli ? { supported: { 'dynamic-import': false } } : {}),
  conditions: ['machined-source'],
  external,
  sourcemap: 'linked',
  logLevel: 'warning',
  banner: cli ? { js: '#!/usr/bin/env node' } : {
    js: [
      '#!/usr/bin/env node',
      // CommonJS dependencies bundled into ESM still call require() for node builtins.
      "import { createRequire as __machinedCreateRequire } from 'node:module';",
      'const require = __machinedCreateRequire(import.meta.url);',
    ].join('\n'),
  },
});
chmodSync(outfile, 0o755);
if (cli) {
  const launcher = join(dist, 'bin', binName);
  cpSync(join(root, 'tools/build/cli/code-cache-launcher.cjs'), launcher);
  chmodSync(launcher, 0o755);
  // bin/<app>.mjs stays a valid entry for whoever runs or imports it by that name; it costs the
  // ESM loader's few milliseconds, so the package's bin names the .cjs.
  const shim = join(dist, 'bin', `${app}.mjs`);
  writeFileSync(shim, `#!/usr/bin/env node\nimport { createRequire } from 'node:module';\ncreateRequire(import.meta.url)('./${binName}');\n`);
  chmodSync(shim, 0o755);
}

const runtimeDeps = {};
for (const name of NATIVE) {
  const range = appPkg.dependencies?.[name];
  if (range) runtimeDeps[name] = rootPkg.dependencies?.[name] ?? range;
}
const deployPkg = {
  name: app,
  version: appPkg.version,
  description: appPkg.description,
  type: 'module',
  bin: { [app]: `bin/${binName}` },
  engines: { node: '>=20' },
  dependencies: runtimeDeps,
  ...(rootPkg.overrides?.usocket && runtimeDeps.usocket ? { overrides: { usocket: '$usocket' } } : {}),
};
writeFileSync(join(dist, 'package.json'), JSON.stringify(deployPkg, null, 2) + '\n');

const deployDir = join(appDir, 'deploy');
// dereference: deploy/install-lib.sh is a symlink to the shared copy; the dist gets the file.
if (existsSync(deployDir)) cpSync(deployDir, dist, { recursive: true, dereference: true });
// An install.sh sources the logic the deployables share from beside itself (so the dist stays
// self-contained): copied here whether or not the app's deploy/ links it.
if (existsSync(join(dist, 'install.sh'))) {
  copyFileSync(join(root, 'tools/build/deploy/install-lib.sh'), join(dist, 'install-lib.sh'));
}

// Small C programs an app needs beside Node (things Node cannot do: setns() into another
// process's namespaces, SCM_RIGHTS on a socketpair, glibc NSS modules). apps/<app>/native/NAME.c
// becomes the executable dist/libexec/NAME; native/libnss_NAME.c becomes the shared library
// dist/lib/libnss_NAME.so.2 (the soname glibc's NSS loader looks for). Warnings are errors: these
// run as root inside other people's containers.
const nativeDir = join(appDir, 'native');
if (existsSync(nativeDir)) {
  const { readdirSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const cc = process.env.CC ?? 'gcc';
  const common = ['-O2', '-g', '-Wall', '-Wextra', '-Werror', '-D_GNU_SOURCE', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2'];
  for (const file of readdirSync(nativeDir).filter((f) => f.endsWith('.c')).sort()) {
    const base = file.slice(0, -2);
    const src = join(nativeDir, file);
    let args;
    if (base.startsWith('libnss_')) {
      mkdirSync(join(dist, 'lib'), { recursive: true });
      const soname = `${base}.so.2`;
      args = [...common, '-fPIC', '-shared', `-Wl,-soname,${soname}`, '-Wl,-z,defs', '-o', join(dist, 'lib', soname), src];
    } else {
      mkdirSync(join(dist, 'libexec'), { recursive: true });
      args = [...common, '-o', join(dist, 'libexec', base), src];
    }
    try {
      execFileSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    } catch {
      console.error(`bundle-app: ${cc} failed on apps/${app}/native/${file} (is gcc installed? tools/setup/ensure-deps.sh installs it)`);
      process.exit(1);
    }
  }
}

const old = join(appDir, `.dist-old-${process.pid}`);
if (existsSync(finalDist)) renameSync(finalDist, old);
renameSync(dist, finalDist);
rmSync(old, { recursive: true, force: true });
