import { expect } from 'chai';
import { Table, str } from './table.js';
import type { TerminalInfo } from '../output/terminal.js';

const pipe: TerminalInfo = { isTty: false, onTty: false, columns: 80, colors: false, colors256: true, utf8: true, pagerActive: false };
const tty = (columns: number): TerminalInfo => ({ ...pipe, isTty: true, onTty: true, columns });

function machines(maxAddresses?: number) {
  return new Table({ columns: ['machine', 'class', 'service', 'os', 'version', 'addresses'], ersatz: '-', cellHeightMax: maxAddresses });
}

describe('Table (format-table.c port)', () => {
  it('pads columns to the widest cell, drops the last column\'s trailing blanks, dashes empty cells', () => {
    const t = machines(1);
    t.add([str('foo'), str('container'), str('svc'), str(undefined), str(''), str(undefined)]);
    expect(t.render(pipe)).to.equal('MACHINE CLASS     SERVICE OS VERSION ADDRESSES\nfoo     container svc     -  -       -\n');
  });

  it('sorts by the first column in byte order, header first; --no-legend leaves single spaces for one row', () => {
    const t = machines();
    t.add([str('zed'), str('vm'), str(''), str(''), str(''), str('')]);
    t.add([str('.host'), str('host'), str(''), str(''), str(''), str('')]);
    t.add([str('Abc'), str('container'), str(''), str(''), str(''), str('')]);
    expect(t.sortedRows().map((r) => (r[0] as { value: string }).value)).to.deep.equal(['.host', 'Abc', 'zed']);
    const one = machines();
    one.add([str('foo'), str('container'), str('svc'), str('debian'), str('12'), str('10.0.0.2')]);
    one.header = false;
    expect(one.render(pipe)).to.equal('foo container svc debian 12 10.0.0.2\n');
  });

  it('shows the first N lines of a multi-line cell and marks the cut with an ellipsis', () => {
    const t = machines(1);
    t.add([str('foo'), str('container'), str('systemd-nspawn'), str('debian'), str('12'), str('10.0.0.2\nfe80::1')]);
    expect(t.render(pipe)).to.equal(
      'MACHINE CLASS     SERVICE        OS     VERSION ADDRESSES\nfoo     container systemd-nspawn debian 12      10.0.0.2…\n',
    );
    const all = machines(undefined);
    all.add([str('foo'), str('container'), str('systemd-nspawn'), str('debian'), str('12'), str('10.0.0.2\nfe80::1')]);
    expect(all.render(pipe)).to.equal(
      'MACHINE CLASS     SERVICE        OS     VERSION ADDRESSES\n' +
        'foo     container systemd-nspawn debian 12      10.0.0.2\n' +
        '                                                fe80::1\n',
    );
  });

  it('uses "..." instead of "…" outside a UTF-8 locale', () => {
    const t = machines(1);
    t.add([str('foo'), str('c'), str('s'), str('o'), str('v'), str('1.2.3.4\n5.6.7.8')]);
    expect(t.render({ ...pipe, utf8: false })).to.contain('1.2.3.4...\n');
  });

  it('shrinks to the terminal and ellipsizes only on a terminal', () => {
    const t = new Table({ columns: ['name', 'description'] });
    t.add([str('a-rather-long-machine-name'), str('and an even longer description of it')]);
    expect(t.render(pipe).split('\n')[1]).to.equal('a-rather-long-machine-name and an even longer description of it');
    const narrow = t.render(tty(30)).split('\n');
    for (const l of narrow) expect(l.length).to.be.at.most(30);
    expect(narrow[1]).to.contain('…');
    expect(t.render({ ...tty(30), pagerActive: true }).split('\n')[1]).to.equal('a-rather-long-machine-name and an even longer description of it');
  });

  it('formats sizes, booleans and timestamps; right-aligns a column whose header cell asks for it', () => {
    const t = new Table({ columns: ['name', 'type', 'ro', 'usage', 'created', 'modified'], headerAlign: { 3: 100 } });
    t.add([str('foo'), str('directory'), { kind: 'boolean', value: false }, { kind: 'size', value: 1153434n }, { kind: 'timestamp', value: 0n }, { kind: 'timestamp', value: 0n }]);
    t.add([str('.hidden'), str('raw'), { kind: 'boolean', value: true }, { kind: 'size', value: 0xffff_ffff_ffff_ffffn }, { kind: 'timestamp', value: 0n }, { kind: 'timestamp', value: 0n }]);
    expect(t.render(pipe)).to.equal(
      'NAME    TYPE      RO  USAGE CREATED MODIFIED\n.hidden raw       yes       -       -\nfoo     directory no   1.0M -       -\n',
    );
  });

  it('renders JSON keyed by column name, with null for empty cells and unknown sizes', () => {
    const t = machines();
    t.add([str('.host'), str('host'), str(''), str(''), str(''), str('')]);
    expect(t.toJson()).to.deep.equal([{ machine: '.host', class: 'host', service: null, os: null, version: null, addresses: null }]);
  });

  it('colours on request: underlined header, grey ersatz cells', () => {
    const t = machines();
    t.add([str('foo'), str('vm'), str(''), str(''), str(''), str('')]);
    const out = t.render({ ...pipe, colors: true });
    expect(out.startsWith('\x1b[0m\x1b[0;4mMACHINE')).to.equal(true);
    expect(out).to.contain('\x1b[0m\x1b[0;4m CLASS');
    expect(out).to.contain('\x1b[0;38;5;245m-');
  });
});
