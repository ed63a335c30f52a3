import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@machined/protocol';
import { defaultSearchPath, discoverImages, isVendorPath } from './discovery.js';
import { UNKNOWN } from './image.js';

const log = createLogger('error', () => {});

describe('discoverImages', () => {
  let base: string;
  let first: string;
  let second: string;

  before(() => {
    base = mkdtempSync(join(tmpdir(), 'machined-discovery-'));
    first = join(base, 'first');
    second = join(base, 'second');
    mkdirSync(join(first, 'tree'), { recursive: true });
    mkdirSync(join(first, '.hidden'));
    mkdirSync(join(first, '.#clone-tree-1234'));
    mkdirSync(join(first, '.#remove-tree-1234'));
    mkdirSync(join(first, '.#import-foo'));
    writeFileSync(join(first, 'disk.raw'), Buffer.alloc(4096, 1));
    writeFileSync(join(first, 'locked.raw'), '');
    chmodSync(join(first, 'locked.raw'), 0o444);
    writeFileSync(join(first, 'notes.txt'), 'not an image');
    symlinkSync(join(base, 'nowhere'), join(first, 'dangling'));
    mkdirSync(join(second, 'tree'), { recursive: true });
    mkdirSync(join(second, 'only-here'));
    symlinkSync(join(second, 'only-here'), join(first, 'linked'));
  });

  after(() => rmSync(base, { recursive: true, force: true }));

  it('finds directories, raw files and links to them; skips other files and our temporaries', async () => {
    const { images, present } = await discoverImages([first, second, join(base, 'missing')], log);
    expect(present).to.deep.equal([first, second]);
    expect([...images.keys()].sort()).to.deep.equal(['.#import-foo', '.hidden', '.host', 'disk', 'linked', 'locked', 'only-here', 'tree']);
    expect(images.get('disk')).to.deep.include({ type: 'raw', path: join(first, 'disk.raw'), readOnly: false, limit: 4096n });
    expect(images.get('locked')?.readOnly).to.equal(true);
    expect(images.get('tree')).to.deep.include({ type: 'directory', mtime: 0n, usage: UNKNOWN });
    expect(images.get('linked')).to.deep.include({ type: 'directory', path: join(first, 'linked') });
    expect(images.get('.host')).to.deep.include({ path: '/', readOnly: true });
  });

  it('lets the first directory of the search path win a name clash', async () => {
    const { images } = await discoverImages([second, first], log);
    expect(images.get('tree')?.path).to.equal(join(second, 'tree'));
  });

  it('has upstream search path around the pool, /usr being vendor (read-only)', () => {
    expect(defaultSearchPath('/pool')).to.deep.equal(['/etc/machines', '/run/machines', '/pool', '/usr/local/lib/machines', '/usr/lib/machines']);
    expect(isVendorPath('/usr/lib/machines/x')).to.equal(true);
    expect(isVendorPath('/usrx/y')).to.equal(false);
  });
});
