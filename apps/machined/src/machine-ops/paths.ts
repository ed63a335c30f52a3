/**
 * Checks of the paths CopyTo/CopyFrom and BindMount receive, with upstream's messages. A path used
 * inside the container must not contain `..`: it could only mean climbing out of the container's
 * root (the helpers would keep it inside anyway, but refusing says clearly why nothing happened).
 */
import { Errors } from '@machined/protocol';

/** path_is_normalized(): no `.` or `..` components, no `//`. */
export function pathIsNormalized(p: string): boolean {
  if (p.includes('//')) return false;
  return !p.split('/').some((c) => c === '.' || c === '..');
}

export function hasDotDot(p: string): boolean {
  return p.split('/').includes('..');
}

/** The last component (path_extract_filename), or null for `/` and the like. */
export function fileNameOf(p: string): string | null {
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  const last = parts[parts.length - 1];
  return last === undefined || last === '..' ? null : last;
}

export interface CopyPaths {
  source: string;
  destination: string;
  hostPath: string;
  containerPath: string;
}

/** Upstream's order: source absolute, destination defaulting to the source, then absolute. */
export function checkCopyPaths(direction: 'to' | 'from', source: string, destination: string): CopyPaths {
  if (!source.startsWith('/')) throw Errors.sourceNotAbsolute();
  const dest = destination === '' ? source : destination;
  if (!dest.startsWith('/')) throw Errors.destinationNotAbsolute();
  const hostPath = direction === 'to' ? source : dest;
  const containerPath = direction === 'to' ? dest : source;
  if (hasDotDot(containerPath)) throw direction === 'to' ? Errors.destinationNotNormalized() : Errors.sourceNotNormalized();
  for (const p of [hostPath, containerPath]) if (fileNameOf(p) === null) throw Errors.noFileName(p);
  return { source, destination: dest, hostPath, containerPath };
}

export function checkBindPaths(source: string, destination: string): { source: string; destination: string } {
  if (!source.startsWith('/') || !pathIsNormalized(source)) throw Errors.sourceNotNormalized();
  const dest = destination === '' ? source : destination;
  if (!dest.startsWith('/') || !pathIsNormalized(dest)) throw Errors.destinationNotNormalized();
  return { source, destination: dest };
}
