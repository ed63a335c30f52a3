import { expect } from 'chai';
import * as protocol from '@machined/protocol';
import * as names from './names.js';

describe('bus names mirrored from @machined/protocol', () => {
  it('has the same value for every name', () => {
    const p = protocol as unknown as Record<string, unknown>;
    for (const key of Object.keys(names).filter((k) => /^[A-Z0-9_]+$/.test(k))) {
      if (key === 'IMPORT1_MANAGER_INTERFACE' || key === 'NO_SUCH_IMAGE_ERROR') continue;
      expect(names[key as keyof typeof names], key).to.equal(p[key]);
    }
    expect(names.NO_SUCH_IMAGE_ERROR).to.equal(protocol.ErrorNames.NoSuchImage);
  });

  it('escapes unit paths and validates host names the same way', () => {
    for (const unit of ['machine-foo.scope', 'machine-a\\x2db.scope', 'systemd-nspawn@x.service', '1abc', '']) {
      expect(names.systemdUnitObjectPath(unit)).to.equal(protocol.systemdUnitObjectPath(unit));
    }
    for (const h of ['foo', 'a.b', 'a-b', '-a', 'a-', 'a..b', '.host', 'x'.repeat(64), 'x'.repeat(65), 'a_b', '', 'ä']) {
      expect(names.hostnameIsValid(h), h).to.equal(protocol.hostnameIsValid(h));
    }
  });
});
