import { expect } from 'chai';
import { parseQgroupTable, subtreeQgroup, subtreeQuota } from './btrfs.js';

const UINT64_MAX = 0xffffffffffffffffn;

/** What btrfs-progs 6.2 prints for `qgroup show -pcre --raw` on a pool after SetPoolLimit and a clone. */
const TABLE = `Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive Parent   Child   Path
--------    ----------    ---------  --------------  ------------- ------   -----   ----
0/5              16384        16384            none           none 255/5    -       <toplevel>
0/256          2097152        32768       104857600           none 254/256  -       e2e-sub
0/257            16384        16384            none           none -        -       e2e-sub/var/e2e-nested
0/258          2097152        16384            none           none 254/258,255/5 -  e2e-clone
254/256        2113536        49152       104857600           none 255/5    0/256   <0 member qgroups>
255/5          4227072      4227072      1073741824           none -        0/5,254/256 <0 member qgroups>
`;

describe('btrfs quota groups', () => {
  const groups = parseQgroupTable(TABLE);

  it('parses every qgroup with its figures, "none" limits as UINT64_MAX, and its parents', () => {
    expect([...groups.keys()]).to.deep.equal(['0/5', '0/256', '0/257', '0/258', '254/256', '255/5']);
    expect(groups.get('0/256')).to.deep.include({ referenced: 2097152n, exclusive: 32768n, maxReferenced: 104857600n, maxExclusive: UINT64_MAX });
    expect(groups.get('0/258')?.parents).to.deep.equal(['254/258', '255/5']);
    expect(groups.get('0/257')?.parents).to.deep.equal([]);
  });

  it('the subtree qgroup is the lowest-level parent sharing the id, else the leaf', () => {
    expect(subtreeQgroup(groups, 256n)).to.equal('254/256');
    expect(subtreeQgroup(groups, 5n)).to.equal('255/5');
    expect(subtreeQgroup(groups, 257n)).to.equal('0/257');
    // A parent of another id (the pool's) is not a subtree qgroup; one listed but missing still is.
    expect(subtreeQgroup(groups, 258n)).to.equal('254/258');
  });

  it('reads usage and limits from the subtree qgroup; none for an unknown one', () => {
    expect(subtreeQuota(groups, 5n)).to.deep.equal({ referenced: 4227072n, exclusive: 4227072n, maxReferenced: 1073741824n, maxExclusive: UINT64_MAX });
    expect(subtreeQuota(groups, 256n)?.maxReferenced).to.equal(104857600n);
    expect(subtreeQuota(groups, 258n)).to.equal(null);
    expect(subtreeQuota(groups, 999n)).to.equal(null);
  });
});
