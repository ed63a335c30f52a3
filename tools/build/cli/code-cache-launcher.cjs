#!/usr/bin/env node
// Entry of a --cli deployable (tools/build/bundle-app.mjs copies it as dist/bin/<app>.cjs): runs
// the bundle beside it (../lib/<app>.cjs) with a V8 code cache, so the bundle's functions are not
// parsed and compiled again on every call (Node 20 has no module.enableCompileCache). Measured
// with tools/bench/machinectl-startup.ts: 63 → 58 ms at 10 machines, 121 → 107 ms at 100.
//
// The cache is the caller's own: $XDG_CACHE_HOME/machined or ~/.cache/machined, used only when
// that directory belongs to the caller and nobody else may write to it (cached code runs as the
// caller). V8 rejects a cache made for other source or another Node, and it is then made again.
// Written once, when the first run (not --help or --version) exits, so it holds what a real run
// compiled. Anything that goes
// wrong with it only means running without it. MACHINED_NO_CODE_CACHE=1 turns it off.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const name = path.basename(__filename, '.cjs');
const bundle = path.join(__dirname, '..', 'lib', `${name}.cjs`);
const source = fs.readFileSync(bundle, 'utf8');

function cacheDir() {
  if (process.env.MACHINED_NO_CODE_CACHE === '1') return null;
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME ? path.join(process.env.HOME, '.cache') : '');
  if (!path.isAbsolute(base)) return null;
  const dir = path.join(base, 'machined');
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.statSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid() || (st.mode & 0o022) !== 0) return null;
    return dir;
  } catch {
    return null;
  }
}

const dir = cacheDir();
const cacheFile = dir && path.join(dir, `${name}-${process.version}.v8cache`);
let cachedData;
if (cacheFile) {
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {}
}
const script = new vm.Script(Module.wrap(source.replace(/^#!.*/, '')), {
  filename: bundle,
  cachedData,
});
// --help and --version compile next to nothing: the first run that does real work writes it.
const trivial = process.argv.slice(2).some((a) => a === '--help' || a === '-h' || a === '--version');
if (cacheFile && !trivial && (cachedData === undefined || script.cachedDataRejected)) {
  process.once('exit', () => {
    try {
      const tmp = `${cacheFile}.${process.pid}`;
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, cacheFile);
    } catch {}
  });
}
const m = new Module(bundle, module);
m.filename = bundle;
m.paths = Module._nodeModulePaths(path.dirname(bundle));
script.runInThisContext().call(m.exports, m.exports, (id) => m.require(id), m, bundle, path.dirname(bundle));
