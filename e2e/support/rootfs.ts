/**
 * The busybox container root file system, built once per run into a cache that survives runs
 * (the script is idempotent: it rebuilds only when its recipe or /bin/busybox changed).
 */
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOTFS_SCRIPT } from './repo-paths.js';
import { run } from './run-command.js';

const execFileAsync = promisify(execFile);

export const ROOTFS_CACHE_DIR = join(tmpdir(), 'machined-e2e-rootfs');

let cached: Promise<string> | undefined;

/** Path of the ready busybox tree (shared, treat it as read-only; copy it to change it). */
export function busyboxRootfs(): Promise<string> {
  cached ??= (async () => {
    const dir = join(ROOTFS_CACHE_DIR, 'busybox');
    await execFileAsync('bash', [ROOTFS_SCRIPT, dir], { timeout: 120000 }).catch((err: Error & { stderr?: string }) => {
      cached = undefined;
      throw new Error(`${ROOTFS_SCRIPT} failed: ${err.message}\n${err.stderr ?? ''}`);
    });
    return dir;
  })();
  return cached;
}

/** Copies the busybox tree to dest (e.g. `<pool>/NAME` to make an image); dest must not exist. */
export async function copyBusyboxRootfs(dest: string): Promise<string> {
  const src = await busyboxRootfs();
  const r = await run('cp', ['-a', '--', src, dest], { timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`cp -a ${src} ${dest} failed: ${r.stderr}`);
  return dest;
}
