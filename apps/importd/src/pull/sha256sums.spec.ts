import { expect } from 'chai';
import { expectedDigest, parseSha256Sums, Sha256SumsError } from './sha256sums.js';

const A = 'a'.repeat(64);
const B = 'B'.repeat(64);

describe('SHA256SUMS parsing', () => {
  it('reads text and binary mode lines, lowercasing the digest', () => {
    const sums = parseSha256Sums(`${A}  busybox.tar.xz\n${B} *disk.raw\n`);
    expect(sums.get('busybox.tar.xz')).to.equal(A);
    expect(sums.get('disk.raw')).to.equal('b'.repeat(64));
  });

  it('accepts CRLF line ends, blank lines and ./ prefixed names', () => {
    const sums = parseSha256Sums(`\r\n${A}  ./x.tar\r\n\n`);
    expect(sums.get('x.tar')).to.equal(A);
  });

  it('keeps the first line of a name listed twice', () => {
    expect(parseSha256Sums(`${A}  x\n${'c'.repeat(64)}  x\n`).get('x')).to.equal(A);
  });

  it('refuses lines that are not digests', () => {
    expect(() => parseSha256Sums('<html>Not found</html>')).to.throw(Sha256SumsError, /line 1/);
    expect(() => parseSha256Sums(`${A.slice(1)}  x`)).to.throw(Sha256SumsError);
  });

  it('names the file when its line is missing', () => {
    expect(() => expectedDigest(`${A}  other.tar\n`, 'busybox.tar.xz')).to.throw(/no line for busybox.tar.xz/);
    expect(expectedDigest(`${A}  busybox.tar.xz\n`, 'busybox.tar.xz')).to.equal(A);
  });
});
