#!/usr/bin/env node
// npm links workspace executables when it installs, before anything is built; this launcher exists
// from the clone on so that the link is made, and hands over to the bundle that the build writes.
import('../dist/bin/nss-helper.mjs').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('nss-helper is not built yet: run "npx nx run nss-helper:build" first');
    process.exit(1);
  }
  throw err;
});
