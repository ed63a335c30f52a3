/**
 * Noticing that a cgroup has no process left. cgroup2 raises inotify IN_MODIFY on `cgroup.events`
 * when `populated` flips; cgroup v1 files never raise inotify events, and v1's release_agent is
 * global to the host, so a v1-only tree is polled.
 */
import { watch, type FSWatcher } from 'node:fs';
import { isDirectory, readOptionalFile, readTreeProcs } from './cgroup-tree.js';

export interface EmptyWatchOptions {
  /** cgroup2 `<cgroup>/cgroup.events`, watched with inotify. */
  eventsFile?: string;
  /** Cgroup directory polled (recursively) when there is no events file to watch. */
  pollDir?: string;
  pollIntervalMs: number;
  /**
   * Whether a cgroup that does not exist counts as empty: true for cgroupfs (nobody else
   * creates it), false beside systemd, which reports the end of the unit on the bus anyway.
   */
  missingMeansEmpty: boolean;
}

/** Calls onEmpty at most once; the returned function stops watching. */
export function watchCgroupEmpty(options: EmptyWatchOptions, onEmpty: () => void): () => void {
  let done = false;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;

  const stop = (): void => {
    done = true;
    watcher?.close();
    watcher = undefined;
    if (timer !== undefined) clearInterval(timer);
  };
  const fire = (): void => {
    if (done) return;
    stop();
    try {
      onEmpty();
    } catch (err) {
      // Surface a throwing callback like an event listener's error, not as a lost rejection.
      queueMicrotask(() => {
        throw err;
      });
    }
  };
  const checkEvents = async (file: string): Promise<void> => {
    const text = readOptionalFile(file);
    if (text === undefined ? options.missingMeansEmpty : /^populated 0$/m.test(text)) fire();
  };
  const checkTree = async (dir: string): Promise<void> => {
    if (!isDirectory(dir)) {
      if (options.missingMeansEmpty) fire();
      return;
    }
    if (readTreeProcs(dir).length === 0) fire();
  };
  const ignoreErrors = (p: Promise<void>): void => {
    p.catch(() => undefined);
  };
  const startPolling = (): void => {
    const dir = options.pollDir;
    if (dir === undefined || timer !== undefined || done) return;
    timer = setInterval(() => ignoreErrors(checkTree(dir)), options.pollIntervalMs);
    timer.unref();
    setImmediate(() => ignoreErrors(checkTree(dir)));
  };

  const eventsFile = options.eventsFile;
  if (eventsFile === undefined) {
    startPolling();
    return stop;
  }
  try {
    // Not persistent: a watch alone must not keep the daemon (or a test run) alive.
    watcher = watch(eventsFile, { persistent: false }, () => ignoreErrors(checkEvents(eventsFile)));
    watcher.on('error', () => {
      watcher?.close();
      watcher = undefined;
      startPolling();
      ignoreErrors(checkEvents(eventsFile));
    });
  } catch {
    // ENOENT: checkEvents below sees the cgroup is gone; ENOSPC (inotify watches exhausted): poll.
    startPolling();
  }
  // The cgroup may have emptied before the watch was in place. Checked on the next turn of the
  // event loop: callers rely on onEmpty never running before watchCgroupEmpty has returned.
  setImmediate(() => ignoreErrors(checkEvents(eventsFile)));
  return stop;
}
