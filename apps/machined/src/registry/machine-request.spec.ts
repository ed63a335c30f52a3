import { expect } from 'chai';
import { BusError } from '@machined/protocol';
import { validateMachineRequest, type RawMachineRequest } from './machine-request.js';

const ok: RawMachineRequest = {
  name: 'foo',
  id: Buffer.alloc(16, 1),
  service: 'test',
  class: 'container',
  leader: 1234,
  rootDirectory: '/srv/foo',
  networkInterfaces: [],
  scopeProperties: [],
};

function failure(raw: Partial<RawMachineRequest>): BusError {
  try {
    validateMachineRequest({ ...ok, ...raw });
  } catch (e) {
    if (e instanceof BusError) return e;
    throw e;
  }
  throw new Error('expected a BusError');
}

describe('machine request validation', () => {
  it('accepts a good request and defaults the slice', () => {
    const req = validateMachineRequest(ok);
    expect(req.slice).to.equal('machine.slice');
    expect(req.class).to.equal('container');
  });

  it("answers bad input with upstream's error names and texts", () => {
    const cases: Array<[Partial<RawMachineRequest>, string, string]> = [
      [{ name: '' }, 'org.freedesktop.DBus.Error.InvalidArgs', 'Invalid machine name'],
      [{ name: 'x'.repeat(65) }, 'org.freedesktop.DBus.Error.InvalidArgs', 'Invalid machine name'],
      [{ name: 'a/b' }, 'org.freedesktop.DBus.Error.InvalidArgs', 'Invalid machine name'],
      [{ name: '..' }, 'org.freedesktop.DBus.Error.InvalidArgs', 'Invalid machine name'],
      [{ name: 'a b' }, 'org.freedesktop.DBus.Error.InvalidArgs', 'Invalid machine name'],
      [{ name: 'büro' }, 'org.freedesktop.DBus.Error.InvalidArgs', 'Invalid machine name'],
      [{ id: Buffer.alloc(5) }, 'org.freedesktop.DBus.Error.InvalidArgs', 'Invalid machine ID parameter'],
      [{ class: 'banana' }, 'org.freedesktop.DBus.Error.InvalidArgs', 'Invalid machine class parameter'],
      [{ leader: 1 }, 'org.freedesktop.DBus.Error.InvalidArgs', 'Invalid leader PID'],
      [{ rootDirectory: 'relative/dir' }, 'org.freedesktop.DBus.Error.InvalidArgs', 'Root directory must be empty or an absolute path'],
      [{ networkInterfaces: [2, 0] }, 'org.freedesktop.DBus.Error.InvalidArgs', 'Invalid network interface index 0'],
      [{ scopeProperties: [['Slice', 's', '../evil']] }, 'org.freedesktop.DBus.Error.InvalidArgs', "Invalid slice name '../evil'"],
    ];
    for (const [raw, name, message] of cases) {
      const e = failure(raw);
      expect(e.errorName, JSON.stringify(raw)).to.equal(name);
      expect(e.message, JSON.stringify(raw)).to.equal(message);
    }
  });

  it('reports the first problem in upstream order (name before id before class)', () => {
    expect(failure({ name: '', id: Buffer.alloc(3), class: 'x' }).message).to.equal('Invalid machine name');
    expect(failure({ id: Buffer.alloc(3), class: 'x' }).message).to.equal('Invalid machine ID parameter');
  });

  it('takes Slice and Description from the scope properties and keeps the rest', () => {
    const req = validateMachineRequest({
      ...ok,
      scopeProperties: [
        ['Slice', 's', 'machine-test.slice'],
        ['Description', 's', 'hello'],
        ['Controller', 's', ':1.29'],
      ],
    });
    expect(req.slice).to.equal('machine-test.slice');
    expect(req.description).to.equal('hello');
    expect(req.scopeProperties).to.have.length(3);
  });
});
