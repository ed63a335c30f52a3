/**
 * org.freedesktop.import1 as systemd defines it (252 baseline, the *Ex methods of 256): the
 * Manager and Transfer interfaces with upstream's argument names (org.freedesktop.import1(5)),
 * the values their string arguments take, and the polkit actions that guard them.
 */
import { arg, method, prop, signal, type InterfaceSpec } from './interface-model.js';

export const IMPORT1_MANAGER_INTERFACE = 'org.freedesktop.import1.Manager';
export const IMPORT1_TRANSFER_INTERFACE = 'org.freedesktop.import1.Transfer';

const fd = arg('fd', 'h');
const localName = arg('local_name', 's');
const force = arg('force', 'b');
const readOnly = arg('read_only', 'b');
const cls = arg('class', 's');
const flags = arg('flags', 't');
const format = arg('format', 's');
const url = arg('url', 's');
const verifyMode = arg('verify_mode', 's');
const started = [arg('transfer_id', 'u'), arg('transfer_path', 'o')];

export const IMPORT1_MANAGER: InterfaceSpec = {
  name: IMPORT1_MANAGER_INTERFACE,
  methods: [
    method('ImportTar', [fd, localName, force, readOnly], started),
    method('ImportTarEx', [fd, localName, cls, flags], started),
    method('ImportRaw', [fd, localName, force, readOnly], started),
    method('ImportRawEx', [fd, localName, cls, flags], started),
    method('ImportFileSystem', [fd, localName, force, readOnly], started),
    method('ImportFileSystemEx', [fd, localName, cls, flags], started),
    method('ExportTar', [localName, fd, format], started),
    method('ExportTarEx', [localName, cls, fd, format, flags], started),
    method('ExportRaw', [localName, fd, format], started),
    method('ExportRawEx', [localName, cls, fd, format, flags], started),
    method('PullTar', [url, localName, verifyMode, force], started),
    method('PullTarEx', [url, localName, cls, verifyMode, flags], started),
    method('PullRaw', [url, localName, verifyMode, force], started),
    method('PullRawEx', [url, localName, cls, verifyMode, flags], started),
    method('ListTransfers', [], [arg('transfers', 'a(usssdo)')]),
    method('ListTransfersEx', [cls, flags], [arg('transfers', 'a(ussssdo)')]),
    method('CancelTransfer', [arg('transfer_id', 'u')]),
    method('ListImages', [cls, flags], [arg('images', 'a(ssssbtttttt)')]),
  ],
  properties: [],
  signals: [
    signal('TransferNew', started),
    signal('TransferRemoved', [...started, arg('result', 's')]),
  ],
};

export const IMPORT1_TRANSFER: InterfaceSpec = {
  name: IMPORT1_TRANSFER_INTERFACE,
  methods: [method('Cancel')],
  properties: [
    prop('Id', 'u', 'const'),
    prop('Local', 's', 'const'),
    prop('Remote', 's', 'const'),
    prop('Type', 's', 'const'),
    prop('Verify', 's', 'const'),
    // Polled by clients (the man page suggests every 500 ms); upstream sends no change signal.
    prop('Progress', 'd', 'false'),
  ],
  signals: [signal('LogMessage', [arg('priority', 'u'), arg('line', 's')]), signal('ProgressUpdate', [arg('progress', 'd')])],
};

export const TRANSFER_TYPES = ['import-tar', 'import-raw', 'import-fs', 'export-tar', 'export-raw', 'pull-tar', 'pull-raw'] as const;
export type TransferType = (typeof TRANSFER_TYPES)[number];

/** What TransferRemoved reports. */
export type TransferResult = 'done' | 'failed' | 'canceled';

export const VERIFY_MODES = ['no', 'checksum', 'signature'] as const;
export type VerifyMode = (typeof VERIFY_MODES)[number];

/** The verification argument of Pull*: empty means `signature`, as upstream. */
export function parseVerifyMode(s: string): VerifyMode | null {
  if (s === '') return 'signature';
  return (VERIFY_MODES as readonly string[]).includes(s) ? (s as VerifyMode) : null;
}

export const EXPORT_FORMATS = ['uncompressed', 'xz', 'gzip', 'bzip2', 'zstd'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The format argument of Export*: empty means the tool's default, uncompressed. */
export function parseExportFormat(s: string): ExportFormat | null {
  if (s === '') return 'uncompressed';
  return (EXPORT_FORMATS as readonly string[]).includes(s) ? (s as ExportFormat) : null;
}

/** Progress as upstream reports it when it is not known yet (-DBL_MAX); 252 machinectl shows `n/a`. */
export const PROGRESS_UNKNOWN = -Number.MAX_VALUE;

/** Bits of the `flags` argument of the *Ex methods. */
export const ImportFlags = { force: 1n, readOnly: 2n, keepDownload: 4n } as const;

/** At most this many transfers at once (TRANSFERS_MAX). */
export const TRANSFERS_MAX = 64;

export const IMPORT1_TRANSFER_PATH_PREFIX = '/org/freedesktop/import1/transfer';

export function transferObjectPath(id: number): string {
  return `${IMPORT1_TRANSFER_PATH_PREFIX}/_${id}`;
}

/** The id in a transfer object path, or null when the path names no transfer. */
export function transferIdFromObjectPath(path: string): number | null {
  const m = /^\/org\/freedesktop\/import1\/transfer\/_([1-9][0-9]{0,9})$/.exec(path);
  if (!m) return null;
  const id = Number(m[1]);
  return id <= 0xffff_ffff ? id : null;
}

/**
 * polkit actions of importd. 252's policy ships only import, export and pull; newer systemd checks
 * `cancel` for Manager.CancelTransfer, which 252's policy lacks, so cancelling uses `pull` as 252
 * does for the Transfer object's Cancel().
 */
export const Import1Actions = {
  import: 'org.freedesktop.import1.import',
  export: 'org.freedesktop.import1.export',
  pull: 'org.freedesktop.import1.pull',
  cancel: 'org.freedesktop.import1.pull',
} as const;
