import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TransferError } from '../transfer/transfer.js';
import { httpGet, httpGetSmall } from './http-get.js';

describe('file: URLs in pulls', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'importd-fileurl-'));
    writeFileSync(join(dir, 'SHA256SUMS'), 'abc  x.tar\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const signal = new AbortController().signal;

  it('reads the file, with its size as the length and no ETag', async () => {
    const url = pathToFileURL(join(dir, 'SHA256SUMS')).href;
    const res = await httpGet(url, { signal });
    expect(res.length).to.equal(11);
    expect(res.etag).to.equal(null);
    res.body.destroy();
    expect((await httpGetSmall(url, { signal })).toString()).to.equal('abc  x.tar\n');
  });

  it('fails with the reason for a missing file or a directory', async () => {
    const missing = pathToFileURL(join(dir, 'nope.raw')).href;
    const err = await httpGet(missing, { signal }).then(() => null, (e: Error) => e);
    expect(err).to.be.instanceOf(TransferError);
    expect(err!.message).to.equal(`Failed to retrieve ${missing}: No such file or directory (ENOENT).`);
    const d = await httpGet(pathToFileURL(dir).href, { signal }).then(() => null, (e: Error) => e);
    expect(d!.message).to.match(/Is a directory \(EISDIR\)\.$/);
  });

  it('refuses file URLs naming another host', async () => {
    const err = await httpGet('file://elsewhere/etc/hostname', { signal }).then(() => null, (e: Error) => e);
    expect(err).to.be.instanceOf(TransferError);
    expect(err!.message).to.match(/^Failed to retrieve file:\/\/elsewhere\/etc\/hostname: /);
  });
});
