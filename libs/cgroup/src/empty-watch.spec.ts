import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchCgroupEmpty } from './empty-watch.js';

/** Fake cgroup trees in a temporary directory: the watch logic, without the kernel. */
describe('watchCgroupEmpty (on plain files)', () => {
  let dir: string;
  const stops: Array<() => void> = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cgroup-watch-'));
  });
  afterEach(async () => {
    stops.splice(0).forEach((stop) => stop());
    await rm(dir, { recursive: true, force: true });
  });

  function watchOnce(options: Parameters<typeof watchCgroupEmpty>[0]): { fired: Promise<void>; count: () => number } {
    let count = 0;
    let resolve!: () => void;
    const fired = new Promise<void>((r) => (resolve = r));
    stops.push(watchCgroupEmpty(options, () => {
      count++;
      resolve();
    }));
    return { fired, count: () => count };
  }

  it('fires once when cgroup.events says populated 0', async () => {
    const events = join(dir, 'cgroup.events');
    await writeFile(events, 'populated 1\nfrozen 0\n');
    const watch = watchOnce({ eventsFile: events, pollIntervalMs: 50, missingMeansEmpty: true });
    await writeFile(events, 'populated 1\nfrozen 1\n');
    await writeFile(events, 'populated 0\nfrozen 0\n');
    await watch.fired;
    await writeFile(events, 'populated 0\nfrozen 1\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(watch.count()).to.equal(1);
  });

  it('fires when already empty at the start', async () => {
    const events = join(dir, 'cgroup.events');
    await writeFile(events, 'populated 0\nfrozen 0\n');
    await watchOnce({ eventsFile: events, pollIntervalMs: 50, missingMeansEmpty: true }).fired;
  });

  it('treats a missing cgroup as empty only when told to', async () => {
    await watchOnce({ eventsFile: join(dir, 'gone', 'cgroup.events'), pollIntervalMs: 50, missingMeansEmpty: true }).fired;
    const quiet = watchOnce({ eventsFile: join(dir, 'gone', 'cgroup.events'), pollIntervalMs: 50, missingMeansEmpty: false });
    await new Promise((r) => setTimeout(r, 100));
    expect(quiet.count()).to.equal(0);
  });

  it('polls cgroup.procs recursively when there is no events file', async () => {
    const scope = join(dir, 'x.scope');
    await mkdir(join(scope, 'payload'), { recursive: true });
    await writeFile(join(scope, 'cgroup.procs'), '');
    await writeFile(join(scope, 'payload', 'cgroup.procs'), '4242\n');
    const watch = watchOnce({ pollDir: scope, pollIntervalMs: 20, missingMeansEmpty: true });
    await new Promise((r) => setTimeout(r, 100));
    expect(watch.count()).to.equal(0);
    await writeFile(join(scope, 'payload', 'cgroup.procs'), '');
    await watch.fired;
    expect(watch.count()).to.equal(1);
  });

  it('stops for good when the returned function is called', async () => {
    const events = join(dir, 'cgroup.events');
    await writeFile(events, 'populated 1\n');
    const watch = watchOnce({ eventsFile: events, pollIntervalMs: 50, missingMeansEmpty: true });
    stops.splice(0).forEach((stop) => stop());
    await writeFile(events, 'populated 0\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(watch.count()).to.equal(0);
  });
});
