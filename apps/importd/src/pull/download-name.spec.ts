import { expect } from 'chai';
import { keptDownloadName, xescape } from './download-name.js';

describe('kept download names (pull_make_path)', () => {
  it('escapes / . # " \' the backslash and non-printable bytes as \\xNN, as xescape()', () => {
    expect(xescape('http://h/a.tar')).to.equal('http:\\x2f\\x2fh\\x2fa\\x2etar');
    expect(xescape('"W/1#2\'\\')).to.equal('\\x22W\\x2f1\\x232\\x27\\x5c');
    expect(xescape('é\n')).to.equal('\\xc3\\xa9\\x0a');
  });

  it('names tar downloads .tar-URL[.ETAG] and raw ones .raw-URL[.ETAG] (the pool adds .raw)', () => {
    expect(keptDownloadName('tar', 'http://h/x.tar.xz', null, '/var/lib/machines')).to.equal('.tar-http:\\x2f\\x2fh\\x2fx\\x2etar\\x2exz');
    expect(keptDownloadName('raw', 'http://h/x.raw', '"abc"', '/var/lib/machines')).to.equal('.raw-http:\\x2f\\x2fh\\x2fx\\x2eraw.\\x22abc\\x22');
  });

  it('hashes a URL that would make the path too long, keeping the prefix and ETag', () => {
    const url = `http://h/${'a'.repeat(300)}.tar`;
    const name = keptDownloadName('tar', url, '"e"', '/var/lib/machines');
    expect(name).to.match(/^\.tar-[0-9a-f]{16}\.\\x22e\\x22$/);
    expect(keptDownloadName('tar', url, '"e"', '/var/lib/machines')).to.equal(name);
  });
});
