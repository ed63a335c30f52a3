/**
 * What GetImageHostname / MachineID / MachineInfo / OSRelease answer: the image's /etc/hostname,
 * /etc/machine-id, /etc/machine-info and os-release, read inside the image root (see chase.ts).
 * A raw image is mounted read-only in a mount namespace of its own, held by a child process; we
 * read through /proc/CHILD/root and then end the child, which takes the mount (and the loop
 * device, auto-cleared) with it: nothing stays mounted even if machined dies half-way.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnvFile } from '../state/env-file.js';
import { readFileInRoot } from './chase.js';
import type { Image } from './image.js';

export interface ImageMetadata {
  hostname: string;
  /** 16 bytes, or empty when the image has no (valid) machine ID. */
  machineId: Buffer;
  machineInfo: Array<[string, string]>;
  osRelease: Array<[string, string]>;
}

const MOUNT_TIMEOUT_MS = 30_000;

/**
 * GPT partition types that hold a root file system (root-x86-64, root-arm64, generic Linux data),
 * tried in the order of the partition table when the raw file is not a file system itself.
 */
const ROOT_PARTITION_TYPES = [
  '4f68bce3-e8cd-4db1-96e7-fbcaf984b709',
  'b921b045-1df0-41c3-af44-4c6f280d3fae',
  '44479540-f297-41b2-9af7-d131d5f0458a',
  '0fc63daf-8483-4772-8e79-3d69d8477de4',
];

/**
 * Run by `sh -c` in the new mount namespace with $0 = the raw file and $1 = the mount point: the
 * file as one file system, else its first root partition (a loop device at the partition's
 * offset, so that it too is auto-cleared on unmount). Then it holds the namespace until stdin closes.
 */
const MOUNT_RAW_SCRIPT = `
if ! mount -o ro,loop -- "$0" "$1" 2>/dev/null; then
  ok=
  for start in $(partx -g -o START,TYPE -- "$0" 2>/dev/null | awk '$2 != "" && index("${ROOT_PARTITION_TYPES.join(' ')}", tolower($2)) { print $1 }'); do
    if mount -o ro,loop,offset=$((start * 512)) -- "$0" "$1"; then ok=1; break; fi
  done
  if [ -z "$ok" ]; then echo "no file system and no root partition found in $0" >&2; exit 1; fi
fi
echo ready
read _
`;

export async function readMetadataFromRoot(root: string): Promise<ImageMetadata> {
  const hostname = ((await readFileInRoot(root, '/etc/hostname')) ?? '')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#')) ?? '';
  const idText = ((await readFileInRoot(root, '/etc/machine-id')) ?? '').trim().toLowerCase();
  const machineId = /^[0-9a-f]{32}$/.test(idText) && !/^0+$/.test(idText) ? Buffer.from(idText, 'hex') : Buffer.alloc(0);
  const info = await readFileInRoot(root, '/etc/machine-info');
  const os = (await readFileInRoot(root, '/etc/os-release')) ?? (await readFileInRoot(root, '/usr/lib/os-release'));
  return {
    hostname,
    machineId,
    machineInfo: info === null ? [] : [...parseEnvFile(info)],
    osRelease: os === null ? [] : [...parseEnvFile(os)],
  };
}

export async function readImageMetadata(image: Image): Promise<ImageMetadata> {
  switch (image.type) {
    case 'directory':
    case 'subvolume':
      return readMetadataFromRoot(image.path === '/' ? '' : image.path);
    case 'raw':
    case 'block':
      return withMountedImage(image.path, image.type === 'raw', (root) => readMetadataFromRoot(root));
  }
}

/**
 * Mounts a raw file or block device read-only in a private mount namespace held by a child
 * (`unshare -m`), runs fn with the host path that reaches the mount, then ends the child.
 */
async function withMountedImage<T>(source: string, loop: boolean, fn: (root: string) => Promise<T>): Promise<T> {
  const mnt = await fs.mkdtemp(join(tmpdir(), 'machined-image-'));
  const script = loop ? MOUNT_RAW_SCRIPT : 'mount -o ro -- "$0" "$1" || exit 1; echo ready; read _';
  const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, source, mnt], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  child.once('error', () => {});
  try {
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), MOUNT_TIMEOUT_MS);
      child.stdout!.on('data', (c: Buffer) => {
        if (c.toString().includes('ready')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!ready) throw new Error(stderr.trim() || `cannot mount ${source}`);
    return await fn(`/proc/${child.pid}/root${mnt}`);
  } finally {
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    await fs.rmdir(mnt).catch(() => {});
  }
}
