#!/usr/bin/env node
// npm links workspace executables when it installs, before anything is built; this launcher exists
// from the clone on so that the link is made, and hands over to the bundle that the build writes.
// CommonJS like the bundle: an ES module launcher would cost the ESM loader's start-up on every call.
try {
  require.resolve('../dist/bin/machinectl.cjs');
} catch {
  console.error('machinectl is not built yet: run "npx nx run machinectl:build" first');
  process.exit(1);
}
require('../dist/bin/machinectl.cjs');
