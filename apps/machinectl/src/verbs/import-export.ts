/**
 * import-tar, import-raw, import-fs and export-tar, export-raw: open the file (or use stdin /
 * stdout), pass its descriptor to org.freedesktop.import1 (ImportTar, ImportRaw,
 * ImportFileSystem, ExportTar, ExportRaw) and follow the transfer like pull-*. Names and checks
 * as upstream 252's import_*() / export_*().
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { basename } from 'node:path';
import { importManager } from '../bus/calls.js';
import { hostnameIsValid } from '../bus/names.js';
import { CliError } from '../cli/cli-error.js';
import type { Context } from './context.js';
import { rawStripSuffixes, tarStripSuffixes, followTransfer } from './pull.js';

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EEXIST: 'File exists',
};
const errnoText = (e: unknown) => ERRNO_TEXT[(e as NodeJS.ErrnoException).code ?? ''] ?? (e as Error).message;
const dashToNull = (s: string | undefined) => (s === undefined || s === '' || s === '-' ? undefined : s);

export async function importImage(ctx: Context): Promise<number> {
  const kind = ctx.verb; // import-tar | import-raw | import-fs
  const path = dashToNull(ctx.args[0]);
  let local = ctx.args.length >= 2 ? dashToNull(ctx.args[1]) : undefined;
  if (ctx.args.length < 2 && path) {
    const fn = basename(path);
    // path_extract_filename() says "directory" for a trailing slash, "." or "..".
    if (kind !== 'import-fs' && (path.endsWith('/') || fn === '.' || fn === '..')) {
      throw new CliError(`Path '${path}' refers to directory, but we need a regular file: Is a directory`);
    }
    local = fn;
  }
  if (!local) throw new CliError('Need either path or local name.');
  if (kind === 'import-tar') local = tarStripSuffixes(local);
  else if (kind === 'import-raw') local = rawStripSuffixes(local);
  if (!hostnameIsValid(local)) throw new CliError(`Local name ${local} is not a suitable machine name.`);
  let fd = 0;
  if (path) {
    try {
      fd = kind === 'import-fs' ? openSync(path, constants.O_RDONLY | constants.O_DIRECTORY) : openSync(path, constants.O_RDONLY | constants.O_NOCTTY);
    } catch (e) {
      throw new CliError(kind === 'import-fs' ? `Failed to open directory '${path}': ${errnoText(e)}` : `Failed to open ${path}: ${errnoText(e)}`);
    }
  }
  const member = kind === 'import-tar' ? 'ImportTar' : kind === 'import-raw' ? 'ImportRaw' : 'ImportFileSystem';
  // The progress line shows bytes and the rate when the input is a file of known size.
  let total: number | null = null;
  try {
    const st = fstatSync(fd);
    if (st.isFile()) total = st.size;
  } catch {
    // no size: percent and time left only
  }
  try {
    return await followTransfer(ctx, importManager(member, 'hsbb', [fd, local, ctx.options.force, ctx.options.readOnly]), total);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** determine_compression_from_filename(): --format wins, else the file's suffix. */
function compressionFor(path: string, format: string | undefined): string {
  if (format) return format;
  if (path.endsWith('.xz')) return 'xz';
  if (path.endsWith('.gz')) return 'gzip';
  if (path.endsWith('.bz2')) return 'bzip2';
  return '';
}

export async function exportImage(ctx: Context): Promise<number> {
  const local = ctx.args[0]!;
  if (!hostnameIsValid(local)) throw new CliError(`Machine name ${local} is not valid.`);
  const path = dashToNull(ctx.args[1]);
  let fd = 1;
  let format = ctx.options.format ?? '';
  if (path) {
    format = compressionFor(path, ctx.options.format);
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOCTTY, 0o666);
    } catch (e) {
      throw new CliError(`Failed to open ${path}: ${errnoText(e)}`);
    }
  } else if (process.stdout.isTTY) {
    throw new CliError('Refusing to write archive to TTY.');
  }
  const member = ctx.verb === 'export-tar' ? 'ExportTar' : 'ExportRaw';
  try {
    return await followTransfer(ctx, importManager(member, 'shs', [local, fd, format]));
  } finally {
    if (fd !== 1) closeSync(fd);
  }
}
