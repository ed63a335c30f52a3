import { expect } from 'chai';
import { fileUrlIsValid, httpUrlIsValid, localNameIsValid, urlFileName } from './local-name.js';

describe('local image names and URLs', () => {
  it('accepts host-name-like image names', () => {
    for (const n of ['bb', 'debian-12', 'fedora.x86-64', 'a'.repeat(64)]) expect(localNameIsValid(n), n).to.equal(true);
  });

  it('refuses empty, hidden, path-like and over-long names', () => {
    for (const n of ['', '.hidden', '.#import-x', '..', 'a/b', '../x', 'a b', 'a'.repeat(65), '-x', 'x-', '.host', 'x\n']) {
      expect(localNameIsValid(n), JSON.stringify(n)).to.equal(false);
    }
  });

  it('accepts http and https URLs only', () => {
    expect(httpUrlIsValid('http://127.0.0.1:8080/busybox.tar.xz')).to.equal(true);
    expect(httpUrlIsValid('https://example.com/a/b.raw')).to.equal(true);
    for (const u of ['', 'ftp://x/y', 'file:///etc/passwd', 'http://', 'not a url', 'http://x/a b']) {
      expect(httpUrlIsValid(u), u).to.equal(false);
    }
  });

  it('accepts file: URLs as file_url_is_valid does (file:/ and at least one more character, ASCII)', () => {
    for (const u of ['file:///srv/img.tar.xz', 'file:/x']) expect(fileUrlIsValid(u), u).to.equal(true);
    for (const u of ['', 'file:/', 'file:x', 'http://h/x', 'file:///é']) expect(fileUrlIsValid(u), u).to.equal(false);
  });

  it('takes the last path component as the file name', () => {
    expect(urlFileName('http://h:1/dir/busybox.tar.xz?x=1')).to.equal('busybox.tar.xz');
    expect(urlFileName('http://h/a%20b.raw')).to.equal('a b.raw');
  });
});
