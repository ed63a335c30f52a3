import { expect } from 'chai';
import { parseMountinfo } from './hierarchy.js';

// Taken from real hosts (trimmed to the cgroup-related lines plus a few neighbours).
const UNIFIED = `\
22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
25 23 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
`;

const HYBRID = `\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

// systemd ≤ 232 style: combined controllers, optional fields, no cgroup2 anywhere.
const LEGACY = `\
24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpu,cpuacct
29 24 0:25 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
30 24 0:26 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,pids
`;

describe('parseMountinfo', () => {
  it('recognizes cgroup2 at the root as unified', () => {
    expect(parseMountinfo(UNIFIED)).to.deep.equal({
      hierarchy: 'unified', root: '/sys/fs/cgroup', unified: '/sys/fs/cgroup', controllers: {},
    });
  });

  it('recognizes tmpfs with cgroup2 at unified and name=systemd as hybrid', () => {
    const layout = parseMountinfo(HYBRID);
    expect(layout.hierarchy).to.equal('hybrid');
    expect(layout.unified).to.equal('/sys/fs/cgroup/unified');
    expect(layout.systemd).to.equal('/sys/fs/cgroup/systemd');
    expect(layout.controllers).to.deep.equal({
      cpu: '/sys/fs/cgroup/cpu', cpuacct: '/sys/fs/cgroup/cpuacct', memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids',
    });
  });

  it('recognizes name=systemd without cgroup2 as legacy, with combined controller mounts', () => {
    const layout = parseMountinfo(LEGACY);
    expect(layout.hierarchy).to.equal('legacy');
    expect(layout.unified).to.equal(undefined);
    expect(layout.systemd).to.equal('/sys/fs/cgroup/systemd');
    expect(layout.controllers['cpu']).to.equal('/sys/fs/cgroup/cpu,cpuacct');
    expect(layout.controllers['cpuacct']).to.equal('/sys/fs/cgroup/cpu,cpuacct');
    expect(layout.controllers['memory']).to.equal('/sys/fs/cgroup/memory');
  });

  it('honours another cgroup root, with mountinfo octal escapes and a trailing slash', () => {
    const text = HYBRID.replaceAll('/sys/fs/cgroup', '/tmp/my\\040cgroups');
    const layout = parseMountinfo(text, '/tmp/my cgroups/');
    expect(layout.hierarchy).to.equal('hybrid');
    expect(layout.unified).to.equal('/tmp/my cgroups/unified');
    expect(layout.systemd).to.equal('/tmp/my cgroups/systemd');
  });

  it('ignores mounts outside the requested root', () => {
    expect(() => parseMountinfo(HYBRID, '/elsewhere')).to.throw(/No cgroup hierarchy/);
  });

  it('takes the last mount at a mount point (mounted over the earlier one)', () => {
    const text = `${HYBRID}50 31 0:40 / /sys/fs/cgroup/unified rw - tmpfs tmpfs rw\n`;
    const layout = parseMountinfo(text);
    expect(layout.hierarchy).to.equal('legacy');
  });

  it('refuses a name=systemd mount that is not named systemd', () => {
    const text = LEGACY.replace('name=systemd', 'name=elogind');
    expect(() => parseMountinfo(text)).to.throw(/No cgroup hierarchy usable/);
  });

  it('refuses a host without any usable hierarchy', () => {
    expect(() => parseMountinfo('')).to.throw(/No cgroup hierarchy usable/);
  });
});
