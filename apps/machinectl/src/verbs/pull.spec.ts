import { expect } from 'chai';
import { rawStripSuffixes, tarStripSuffixes, urlLastComponent } from './pull.js';

describe('pull: local names from URLs (import-util.c)', () => {
  it('takes the last URL component and strips image suffixes as upstream', () => {
    expect(urlLastComponent('https://example.com/a/foo.tar.xz?x=1')).to.equal('foo.tar.xz');
    expect(urlLastComponent('https://example.com/a/b/')).to.equal('b');
    expect(tarStripSuffixes('foo.tar.xz')).to.equal('foo');
    expect(tarStripSuffixes('foo.tgz')).to.equal('foo');
    expect(tarStripSuffixes('foo.raw')).to.equal('foo.raw');
    expect(rawStripSuffixes('disk.raw.xz')).to.equal('disk');
    expect(rawStripSuffixes('disk.qcow2.gz')).to.equal('disk');
  });
});
