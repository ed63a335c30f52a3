/**
 * Failures of cgroup file operations. machined turns these into D-Bus errors, so each carries the
 * errno name it stems from (ESRCH: the leader is gone; EBUSY: the cgroup still has processes;
 * EEXIST: a populated scope of that name exists) and the cgroup file it concerns.
 */
export class CgroupError extends Error {
  override readonly name = 'CgroupError';

  constructor(
    /** errno name, e.g. `ESRCH`. */
    readonly code: string,
    message: string,
    /** The cgroup file or directory the operation failed on, when there is one. */
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The errno name (`ENOENT`, …) of a Node system error, or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Wraps a Node system error with the action and the path, keeping its errno name as the code. */
export function cgroupFailure(action: string, path: string, err: unknown): CgroupError {
  const code = errnoCode(err) ?? 'EIO';
  // Node's text is "ESRCH: no such process, write": keep only the strerror part.
  const text = err instanceof Error ? err.message : String(err);
  const strerror = /^[A-Z0-9]+: ([^,]+)/.exec(text)?.[1] ?? text;
  return new CgroupError(code, `${action} ${path}: ${code} (${strerror})`, path, { cause: err });
}
