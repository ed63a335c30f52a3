/**
 * org.freedesktop.import1.Manager at /org/freedesktop/import1. Every method has upstream's shape:
 * authorize (as importd.c, before reading the arguments), validate with upstream's error texts,
 * then start a transfer and answer its id and path. A passed fd is ours from the moment the call
 * arrives: it is handed to the transfer, or closed here when the call fails.
 */
import { fstatSync } from 'node:fs';
import {
  Errors,
  IMPORT1_MANAGER,
  ImportFlags,
  Import1Actions,
  parseExportFormat,
  parseVerifyMode,
  type Authorizer,
  type CallContext,
  type ServedInterface,
} from '@machined/protocol';
import { closeQuietly } from '../image/byte-source.js';
import { exportWork } from '../jobs/export-job.js';
import { importFsWork, importWork } from '../jobs/import-jobs.js';
import type { JobContext } from '../jobs/job-context.js';
import { pullWork } from '../jobs/pull-job.js';
import { fileUrlIsValid, httpUrlIsValid, localNameIsValid } from '../transfer/local-name.js';
import type { Transfer } from '../transfer/transfer.js';
import type { Transfers } from '../transfer/transfers.js';

export interface ManagerBusDeps {
  transfers: Transfers;
  authorizer: Authorizer;
  jobs: JobContext;
}

const started = (t: Transfer): unknown[] => [t.id, t.path];

function checkLocal(name: string): void {
  if (!localNameIsValid(name)) throw Errors.invalidLocalImageName(name);
}

/** Runs `body` owning `fd`: if it throws, the fd is closed before the error goes back. */
async function owningFd<T>(fd: number, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    closeQuietly(fd);
    throw e;
  }
}

function checkImportFd(fd: number, kind: 'tar' | 'raw' | 'fs'): void {
  const st = fstatSync(fd);
  if (kind === 'fs') {
    if (!st.isDirectory()) throw Errors.badImportFd('File descriptor is not a directory');
  } else if (!st.isFile() && !st.isFIFO() && !st.isSocket()) {
    throw Errors.badImportFd('File descriptor must refer to a regular file, pipe or socket');
  }
}

function checkExportFd(fd: number): void {
  const st = fstatSync(fd);
  if (!st.isFile() && !st.isFIFO() && !st.isSocket() && !st.isCharacterDevice()) {
    throw Errors.badImportFd('File descriptor must refer to a regular file, pipe, socket or character device');
  }
}

export function managerInterface({ transfers, authorizer, jobs }: ManagerBusDeps): ServedInterface {
  const importMethod = (kind: 'tar' | 'raw' | 'fs') => async (ctx: CallContext, fd: number, local: string, force: boolean, readOnly: boolean) =>
    owningFd(fd, async () => {
      await authorizer.authorize(ctx, Import1Actions.import, {});
      checkLocal(local);
      checkImportFd(fd, kind);
      const args = { fd, local, force, readOnly };
      const work = kind === 'fs' ? importFsWork(jobs, args) : importWork(jobs, kind, args);
      return started(transfers.start({ type: `import-${kind}`, local, remote: '', verify: 'no' }, work));
    });

  const exportMethod = (kind: 'tar' | 'raw') => async (ctx: CallContext, local: string, fd: number, formatArg: string) =>
    owningFd(fd, async () => {
      await authorizer.authorize(ctx, Import1Actions.export, {});
      checkLocal(local);
      const format = parseExportFormat(formatArg);
      if (!format) throw Errors.unknownExportFormat(formatArg);
      checkExportFd(fd);
      return started(transfers.start({ type: `export-${kind}`, local, remote: '', verify: 'no' }, exportWork(jobs, kind, { local, fd, format })));
    });

  const pullMethod =
    (kind: 'tar' | 'raw') =>
    async (ctx: CallContext, url: string, local: string, verifyArg: string, force: boolean, readOnly = false, keepDownload = false) => {
      await authorizer.authorize(ctx, Import1Actions.pull, {});
      if (!httpUrlIsValid(url) && !fileUrlIsValid(url)) throw Errors.invalidUrl(url);
      // An empty local name keeps only the (hidden, read-only) download, as upstream.
      if (local !== '') checkLocal(local);
      const verify = parseVerifyMode(verifyArg);
      if (!verify) throw Errors.unknownVerifyMode(verifyArg);
      const args = { url, local, verify, force, readOnly, keepDownload };
      return started(transfers.start({ type: `pull-${kind}`, local, remote: url, verify }, pullWork(jobs, kind, args)));
    };

  /** The *Ex forms: only the `machine` class exists in the pool, flags force|read_only. */
  const exFlags = (cls: string, flags: bigint, allowed: bigint) => {
    if (cls !== 'machine') throw Errors.unknownImageClass(cls);
    if ((flags & ~allowed) !== 0n) throw Errors.invalidImportFlags(flags);
    return { force: (flags & ImportFlags.force) !== 0n, readOnly: (flags & ImportFlags.readOnly) !== 0n };
  };

  const importTar = importMethod('tar');
  const importRaw = importMethod('raw');
  const importFs = importMethod('fs');
  const exportTar = exportMethod('tar');
  const exportRaw = exportMethod('raw');
  const pullTar = pullMethod('tar');
  const pullRaw = pullMethod('raw');
  // The plain form takes over the fd; only a failure before handing over closes it here.
  const importEx = (m: typeof importTar) => (ctx: CallContext, fd: number, local: string, cls: string, flags: bigint) => {
    let f;
    try {
      f = exFlags(cls, flags, ImportFlags.force | ImportFlags.readOnly);
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
    return m(ctx, fd, local, f.force, f.readOnly);
  };
  const exportEx = (m: typeof exportTar) => (ctx: CallContext, local: string, cls: string, fd: number, format: string, flags: bigint) => {
    try {
      exFlags(cls, flags, 0n);
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
    return m(ctx, local, fd, format);
  };
  const pullEx = (m: typeof pullTar) => (ctx: CallContext, url: string, local: string, cls: string, verify: string, flags: bigint) => {
    const f = exFlags(cls, flags, ImportFlags.force | ImportFlags.readOnly | ImportFlags.keepDownload);
    return m(ctx, url, local, verify, f.force, f.readOnly, (flags & ImportFlags.keepDownload) !== 0n);
  };

  return {
    spec: IMPORT1_MANAGER,
    methods: {
      ImportTar: importTar,
      ImportRaw: importRaw,
      ImportFileSystem: importFs,
      ImportTarEx: importEx(importTar),
      ImportRawEx: importEx(importRaw),
      ImportFileSystemEx: importEx(importFs),
      ExportTar: exportTar,
      ExportRaw: exportRaw,
      ExportTarEx: exportEx(exportTar),
      ExportRawEx: exportEx(exportRaw),
      PullTar: pullTar,
      PullRaw: pullRaw,
      PullTarEx: pullEx(pullTar),
      PullRawEx: pullEx(pullRaw),
      ListTransfers() {
        return [transfers.list().map((t) => [t.id, t.info.type, t.info.remote, t.info.local, t.progress, t.path])];
      },
      ListTransfersEx(_ctx: CallContext, cls: string, flags: bigint) {
        if (cls !== '' && cls !== 'machine') throw Errors.unknownImageClass(cls);
        if (flags !== 0n) throw Errors.invalidImportFlags(flags);
        return [transfers.list().map((t) => [t.id, t.info.type, t.info.remote, t.info.local, 'machine', t.progress, t.path])];
      },
      async CancelTransfer(ctx: CallContext, id: number) {
        await authorizer.authorize(ctx, Import1Actions.cancel, {});
        if (id === 0) throw Errors.invalidTransferId();
        const t = transfers.get(id);
        if (!t) throw Errors.noSuchTransfer(id);
        t.cancel();
        return [];
      },
      // ListImages (256) is machined's pool view; not served here yet: answers NotSupported.
    },
    properties: {},
  };
}
