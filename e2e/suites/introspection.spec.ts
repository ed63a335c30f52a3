/**
 * What machined serves, checked against the reference tables of org.freedesktop.machine1
 * (e2e/fixtures/reference-interfaces.md, a copy of the project's verified reference): every method,
 * property and signal of systemd 252 with its exact signature; newer ones are not claimed. Also
 * what real `busctl introspect` and `busctl get-property` print against it.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { IMAGE_INTERFACE, signatureOf, type InterfaceSpec } from '@machined/protocol';
import { REPO_ROOT, run, useStack } from '../support/index.js';

interface RefMember {
  name: string;
  in?: string;
  out?: string;
  type?: string;
}
interface RefInterface {
  methods: RefMember[];
  properties: RefMember[];
  signals: RefMember[];
}

/** "s name, ay id" → "say"; "–" → "". */
const sigOfArgs = (cell: string) =>
  cell.trim() === '–' || cell.trim() === '' ? '' : cell.split(',').map((a) => a.trim().split(/\s+/)[0]).join('');

/** Rows of the tables below `#### <heading>` (or the one table of a section when heading is null) in a section. */
function tableRows(section: string, heading: string | null): { header: string[]; rows: string[][] } {
  const start = heading ? section.indexOf(`#### ${heading}`) : 0;
  if (start < 0) return { header: [], rows: [] };
  const lines = section.slice(start).split('\n');
  const table: string[][] = [];
  let inTable = false;
  for (const line of lines) {
    if (line.startsWith('|')) {
      inTable = true;
      table.push(line.split('|').slice(1, -1).map((c) => c.trim()));
    } else if (inTable) break;
  }
  const [header = [], , ...rows] = table;
  return { header, rows };
}

/** systemd 252 is the baseline: rows marked with a later version (in the name or a Since column) are skipped. */
function newerThan252(row: string[], header: string[]): boolean {
  const marker = /\*\*\[(\d+)\]\*\*/.exec(row[0] ?? '');
  if (marker && Number(marker[1]) > 252) return true;
  const since = header.indexOf('Since');
  return since >= 0 && /^\d+$/.test(row[since] ?? '') && Number(row[since]) > 252;
}

function parseReference(sectionTitle: string): RefInterface {
  const text = readFileSync(`${REPO_ROOT}/e2e/fixtures/reference-interfaces.md`, 'utf8');
  const start = text.indexOf(sectionTitle);
  const end = text.indexOf('\n### ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  const name = (cell: string) => cell.replace(/\*\*\[\d+\]\*\*/, '').trim();
  const methods = tableRows(section, 'Methods');
  const props = tableRows(section, 'Properties');
  const signals = tableRows(section, 'Signals');
  return {
    methods: methods.rows.filter((r) => !newerThan252(r, methods.header)).map((r) => ({ name: name(r[0]!), in: sigOfArgs(r[1]!), out: sigOfArgs(r[2]!) })),
    properties: props.rows
      .filter((r) => !newerThan252(r, props.header) && !/hidden/i.test(r.join(' ')))
      .map((r) => ({ name: name(r[0]!), type: r[1]!.replace(/`/g, '') })),
    signals: signals.rows.map((r) => ({ name: name(r[0]!), in: sigOfArgs(r[1]!) })),
  };
}

/** The same shape, read from introspection XML. */
function parseIntrospection(xml: string, iface: string): RefInterface {
  const body = new RegExp(`<interface name="${iface.replace(/\./g, '\\.')}">([\\s\\S]*?)</interface>`).exec(xml)?.[1] ?? '';
  const args = (block: string, dir?: string) =>
    [...block.matchAll(/<arg type="([^"]+)"(?: name="[^"]*")?(?: direction="(in|out)")?\/>/g)]
      .filter((m) => (dir ? (m[2] ?? 'in') === dir : true))
      .map((m) => m[1])
      .join('');
  return {
    methods: [...body.matchAll(/<method name="(\w+)">([\s\S]*?)<\/method>/g)].map((m) => ({ name: m[1]!, in: args(m[2]!, 'in'), out: args(m[2]!, 'out') })),
    properties: [...body.matchAll(/<property name="(\w+)" type="([^"]+)"/g)].map((m) => ({ name: m[1]!, type: m[2]! })),
    signals: [...body.matchAll(/<signal name="(\w+)">([\s\S]*?)<\/signal>/g)].map((m) => ({ name: m[1]!, in: args(m[2]!) })),
  };
}

function fromSpec(spec: InterfaceSpec): RefInterface {
  return {
    methods: spec.methods.map((m) => ({ name: m.name, in: signatureOf(m.in), out: signatureOf(m.out) })),
    properties: spec.properties.map((p) => ({ name: p.name, type: p.type })),
    signals: spec.signals.map((s) => ({ name: s.name, in: signatureOf(s.args) })),
  };
}

const byName = (xs: RefMember[]) => [...xs].sort((a, b) => a.name.localeCompare(b.name));

describe('introspection against the reference tables', function () {
  const stack = useStack();


  it('serves every Manager method, property and signal of systemd 252 with its exact signature', async () => {
    const [xml] = await stack.client.call('org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.DBus.Introspectable', 'Introspect');
    const served = parseIntrospection(xml, 'org.freedesktop.machine1.Manager');
    const ref = parseReference('### 1.1 Manager');
    expect(ref.methods.length, 'reference parsed').to.be.greaterThan(35);
    expect(byName(served.methods)).to.deep.equal(byName(ref.methods));
    expect(byName(served.properties)).to.deep.equal(byName(ref.properties));
    expect(byName(served.signals)).to.deep.equal(byName(ref.signals));
  });

  it('serves the Machine interface of systemd 252 on the .host object', async () => {
    const [xml] = await stack.client.call('org.freedesktop.machine1', '/org/freedesktop/machine1/machine/_2ehost', 'org.freedesktop.DBus.Introspectable', 'Introspect');
    const served = parseIntrospection(xml, 'org.freedesktop.machine1.Machine');
    const ref = parseReference('### 1.2 Machine objects');
    expect(ref.properties.map((p) => p.name)).to.include.members(['Name', 'Id', 'State', 'NetworkInterfaces']);
    expect(byName(served.methods)).to.deep.equal(byName(ref.methods));
    expect(byName(served.properties)).to.deep.equal(byName(ref.properties));
  });

  it('declares the Image interface of systemd 252 in libs/protocol', () => {
    const ref = parseReference('### 1.3 Image objects');
    const declared = fromSpec(IMAGE_INTERFACE);
    expect(byName(declared.methods)).to.deep.equal(byName(ref.methods));
    expect(byName(declared.properties)).to.deep.equal(byName(ref.properties));
  });

  it('real busctl introspect lists the Manager with its methods and signatures', async () => {
    const r = await run('busctl', ['--address', stack.bus.address, 'introspect', '--no-pager', 'org.freedesktop.machine1', '/org/freedesktop/machine1'], {});
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/\.CreateMachine\s+method\s+sayssusa\(sv\)\s+o/);
    expect(r.stdout).to.match(/\.PoolPath\s+property\s+s\s+"\/var\/lib\/machines"/);
    expect(r.stdout).to.match(/\.MachineNew\s+signal\s+so/);
  });

  it('real busctl tree walks down from / to the machine objects', async () => {
    const r = await run('busctl', ['--address', stack.bus.address, 'tree', '--no-pager', '--list', 'org.freedesktop.machine1'], {});
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.split('\n')).to.include.members(['/org/freedesktop/machine1', '/org/freedesktop/machine1/machine/_2ehost']);
  });

  it('real busctl get-property reads Manager and Machine properties', async () => {
    const pool = await run('busctl', ['--address', stack.bus.address, 'get-property', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'PoolPath', 'PoolUsage']);
    expect(pool.code, pool.stderr).to.equal(0);
    expect(pool.stdout).to.equal('s "/var/lib/machines"\nt 18446744073709551615\n');
    const host = await run('busctl', ['--address', stack.bus.address, 'get-property', 'org.freedesktop.machine1', '/org/freedesktop/machine1/machine/_2ehost', 'org.freedesktop.machine1.Machine', 'Name', 'Class', 'Leader', 'Unit']);
    expect(host.code, host.stderr).to.equal(0);
    expect(host.stdout).to.equal('s ".host"\ns "host"\nu 1\ns "-.slice"\n');
  });
});
