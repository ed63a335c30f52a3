/**
 * SHA256SUMS as sha256sum(1) writes it and systemd-pull reads it: one `<64 hex digits> <space or
 * *><file name>` per line, the name being the last component of the image's URL. The image's line
 * must be there and match; a file without it fails the pull like a mismatch does.
 */

export class Sha256SumsError extends Error {}

/** The digests by file name. Throws on a line that is not of that shape, so garbage is noticed. */
export function parseSha256Sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const m = /^([0-9a-fA-F]{64}) ([ *])(.+)$/.exec(line);
    if (!m) throw new Sha256SumsError(`SHA256SUMS line ${i + 1} is not '<sha256> <file>': ${JSON.stringify(line.slice(0, 120))}`);
    let name = m[3]!;
    // sha256sum writes `./name` when given relative paths that way; the file is the same.
    if (name.startsWith('./')) name = name.slice(2);
    if (!sums.has(name)) sums.set(name, m[1]!.toLowerCase());
  });
  return sums;
}

/** The expected digest of `fileName`, or an error saying what is missing. */
export function expectedDigest(text: string, fileName: string): string {
  const d = parseSha256Sums(text).get(fileName);
  if (!d) throw new Sha256SumsError(`SHA256SUMS has no line for ${fileName}`);
  return d;
}
