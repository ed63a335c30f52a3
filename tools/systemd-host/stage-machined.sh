#!/usr/bin/env bash
# Stages machined's deployable for a host without npm access: apps/machined/dist (the bundle,
# install.sh, unit, D-Bus policy and activation files) plus node_modules holding exactly the
# runtime dependencies its package.json names (native usocket and zeromq) and theirs, copied from
# the workspace's node_modules (built for this Node and glibc). Inside the target:
#   DEST/install.sh --skip-npm && cp -a DEST/node_modules /usr/lib/machined/
# is what "npm install --omit=dev" would have produced.
#
# usage: stage-machined.sh DEST      (DEST must not exist; machined must be built)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dist=$repo/apps/machined/dist
dest=${1:?usage: stage-machined.sh DEST}

[[ -f $dist/bin/machined.mjs && -f $dist/package.json ]] ||
  { echo "stage-machined: $dist is not built (npx nx run machined:build)" >&2; exit 1; }
[[ ! -e $dest ]] || { echo "stage-machined: $dest exists" >&2; exit 1; }

mkdir -p -- "$dest/node_modules"
cp -a -- "$dist/." "$dest/"
# The dependency closure, from each package.json's "dependencies". Left out: packages needed only
# to compile the native addons (their prebuilt/compiled binaries are already in place).
node --input-type=module - "$repo/node_modules" "$dist/package.json" <<'EOF' | while read -r pkg; do
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
const [nm, rootPkg] = process.argv.slice(2);
const BUILD_ONLY = new Set(['node-gyp', 'nan', 'node-addon-api']);
const seen = new Set();
const walk = (name) => {
  if (seen.has(name) || BUILD_ONLY.has(name)) return;
  seen.add(name);
  const pkg = JSON.parse(readFileSync(join(nm, name, 'package.json'), 'utf8'));
  Object.keys(pkg.dependencies ?? {}).forEach(walk);
};
Object.keys(JSON.parse(readFileSync(rootPkg, 'utf8')).dependencies ?? {}).forEach(walk);
console.log([...seen].join('\n'));
EOF
  mkdir -p -- "$dest/node_modules/$(dirname -- "$pkg")"
  cp -a -- "$repo/node_modules/$pkg" "$dest/node_modules/$pkg"
done
