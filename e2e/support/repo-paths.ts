/**
 * Where things are in the checkout, resolved from this file so the harness works from any cwd.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The workspace root (the directory holding nx.json). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

/** The deployable machined bundle that `npx nx run machined:build` writes. */
export const MACHINED_ENTRY = join(REPO_ROOT, 'apps/machined/dist/bin/machined.mjs');

/** Our machinectl as `npx nx run machinectl:build` writes it (a CommonJS bundle: see bundle-app.mjs --cli). */
export const MACHINECTL_ENTRY = join(REPO_ROOT, 'apps/machinectl/dist/bin/machinectl.cjs');

/** The script that builds the busybox container root file system. */
export const ROOTFS_SCRIPT = join(REPO_ROOT, 'tools/rootfs/make-busybox-rootfs.sh');

/** The boundary checker (tools/check-boundaries.mjs). */
export const BOUNDARY_CHECKER = join(REPO_ROOT, 'tools/check-boundaries.mjs');

/** Set by e2e/run-in-namespace.sh: /run/systemd and /var/lib/machines are private tmpfs mounts. */
export function inTestNamespace(): boolean {
  return process.env.MACHINED_E2E_NAMESPACE === '1';
}
