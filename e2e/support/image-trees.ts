/**
 * Image fixtures for the importd suites: a tree with every kind of thing an OS image holds
 * (ownership, setuid modes, symlinks, hard links, xattrs, device nodes, FIFOs), a manifest of a
 * tree to compare two of them entry by entry, and hostile archives built with Python's tarfile,
 * which writes member names that GNU tar itself would refuse to create.
 */
import { copyBusyboxRootfs } from './rootfs.js';
import { run } from './run-command.js';

/** Debian's interpreter (the pyenv one on PATH may lack modules; only the standard library is used). */
const PYTHON = '/usr/bin/python3';

async function python(script: string, args: string[]): Promise<string> {
  const r = await run(PYTHON, ['-c', script, ...args], { timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`python3 failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const MANIFEST_PY = String.raw`
import hashlib, json, os, stat, sys
root = sys.argv[1]
seen = {}
out = []
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in [''] + sorted(dirnames + filenames) if dirpath == root else sorted(dirnames + filenames):
        p = os.path.join(dirpath, name) if name else dirpath
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        e = {'path': rel, 'mode': oct(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid}
        try:
            e['xattrs'] = {k: os.getxattr(p, k, follow_symlinks=False).hex() for k in sorted(os.listxattr(p, follow_symlinks=False))}
        except OSError:
            e['xattrs'] = {}
        if stat.S_ISLNK(st.st_mode):
            e['target'] = os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    e['hardlinkOf'] = seen[key]
                else:
                    seen[key] = rel
            e['size'] = st.st_size
            with open(p, 'rb') as f:
                e['sha256'] = hashlib.sha256(f.read()).hexdigest()
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            e['rdev'] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
        out.append(e)
print(json.dumps(out))
`;

export interface ManifestEntry {
  path: string;
  mode: string;
  uid: number;
  gid: number;
  xattrs: Record<string, string>;
  target?: string;
  size?: number;
  sha256?: string;
  hardlinkOf?: string;
  rdev?: [number, number];
}

/** Every entry below root (root itself as `.`), sorted by path, with what a copy must keep. */
export async function treeManifest(root: string): Promise<ManifestEntry[]> {
  const entries = JSON.parse(await python(MANIFEST_PY, [root])) as ManifestEntry[];
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const DECORATE_PY = String.raw`
import os, sys
r = sys.argv[1]
os.makedirs(os.path.join(r, 'srv/data'), exist_ok=True)
p = os.path.join(r, 'srv/data/owned')
with open(p, 'w') as f: f.write('owned by 1234:5678\n')
os.chown(p, 1234, 5678)
os.chmod(p, 0o640)
s = os.path.join(r, 'srv/data/setuid-tool')
with open(s, 'w') as f: f.write('#!/bin/sh\n')
os.chmod(s, 0o4755)
os.link(p, os.path.join(r, 'srv/data/owned-hardlink'))
os.symlink('../data/owned', os.path.join(r, 'srv/data/relative-link'))
os.symlink('/etc/os-release', os.path.join(r, 'srv/data/absolute-link'))
os.setxattr(p, 'trusted.machined-test', b'xattr value')
os.setxattr(p, 'user.machined-test', b'user xattr')
os.makedirs(os.path.join(r, 'dev'), exist_ok=True)
os.mknod(os.path.join(r, 'dev/null-copy'), 0o666 | 0o020000, os.makedev(1, 3))
os.mkfifo(os.path.join(r, 'srv/fifo'), 0o600)
d = os.path.join(r, 'srv/private')
os.makedirs(d)
os.chown(d, 4321, 4321)
os.chmod(d, 0o700)
`;

/** The busybox OS tree at dest plus ownership, setuid, links, xattrs, a device node and a FIFO. */
export async function makeRichTree(dest: string): Promise<string> {
  await copyBusyboxRootfs(dest);
  await python(DECORATE_PY, [dest]);
  return dest;
}

const HOSTILE_PY = String.raw`
import io, sys, tarfile
out, kind = sys.argv[1], sys.argv[2]
def add_file(t, name, data=b'evil\n'):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
    t.addfile(ti, io.BytesIO(data))
with tarfile.open(out, 'w', format=tarfile.GNU_FORMAT) as t:
    add_file(t, 'etc/os-release', b'ID=evil\n')
    if kind == 'dotdot':
        add_file(t, '../' + sys.argv[3])
    elif kind == 'absolute':
        add_file(t, sys.argv[3])
    elif kind == 'symlink':
        ti = tarfile.TarInfo('escape'); ti.type = tarfile.SYMTYPE; ti.linkname = sys.argv[3]
        t.addfile(ti)
        add_file(t, 'escape/planted')
    elif kind == 'longpath':
        # One member whose path is about 5000 characters long (GNU long-name header).
        add_file(t, '/'.join(['d' * 99] * 50) + '/' + sys.argv[3])
    elif kind == 'manyfiles':
        for i in range(int(sys.argv[3])):
            ti = tarfile.TarInfo('many/%06d' % i); ti.size = 0; ti.mode = 0o644
            t.addfile(ti)
    elif kind == 'hardlink':
        ti = tarfile.TarInfo('passwd-link'); ti.type = tarfile.LNKTYPE; ti.linkname = sys.argv[3]
        t.addfile(ti)
    else:
        raise SystemExit('unknown kind ' + kind)
`;

export type HostileKind = 'dotdot' | 'absolute' | 'symlink' | 'hardlink' | 'longpath' | 'manyfiles';

/**
 * A tar at `out` whose extra member tries to reach `target` (a name, a path or a link target); for
 * `longpath` a file name at the end of a ~5000 character path, for `manyfiles` a count of empty files.
 */
export async function makeHostileTar(out: string, kind: HostileKind, target: string): Promise<string> {
  await python(HOSTILE_PY, [out, kind, target]);
  return out;
}
