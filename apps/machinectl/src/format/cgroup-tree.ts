/**
 * The process tree under a unit, as systemd's unit_show_processes() draws it from a
 * GetUnitProcesses reply: processes of a cgroup by PID, then its sub-cgroups by name, with tree
 * glyphs; processes outside the unit's cgroup last, as a bulleted list.
 */
import { ellipsize } from './ellipsize.js';

export interface UnitProcess {
  cgroup: string;
  pid: number;
  command: string;
}

interface Node {
  path: string;
  pids: Map<number, string>;
  children: Node[];
  done: boolean;
}

const glyphs = (utf8: boolean) =>
  utf8
    ? { branch: '├─', right: '└─', vertical: '│ ', space: '  ', bullet: '‣' }
    : { branch: '|-', right: '`-', vertical: '| ', space: '  ', bullet: '>' };

const normal = (p: string) => (p === '' || p === '/' ? '/' : p.replace(/\/+$/, ''));

/**
 * @param columns 0 = never ellipsize (output not on a terminal, or through the pager).
 */
export function renderUnitProcesses(procs: UnitProcess[], cgroupPath: string, prefix: string, columns: number, utf8: boolean): string {
  const nodes = new Map<string, Node>();
  const add = (path: string): Node => {
    const p = normal(path);
    let n = nodes.get(p);
    if (n) return n;
    n = { path: p, pids: new Map(), children: [], done: false };
    nodes.set(p, n);
    if (p !== '/') add(p.slice(0, p.lastIndexOf('/')) || '/').children.push(n);
    return n;
  };
  for (const pr of procs) add(pr.cgroup).pids.set(pr.pid, pr.command);
  const g = glyphs(utf8);
  let out = '';

  const dump = (path: string, pre: string, cols: number): void => {
    const cg = nodes.get(normal(path));
    if (!cg) return;
    if (cg.pids.size > 0) {
      const pids = [...cg.pids.keys()].sort((a, b) => a - b);
      const width = String(pids[pids.length - 1]).length;
      pids.forEach((pid, i) => {
        let name = cg.pids.get(pid)!;
        if (cols !== 0) name = ellipsize(name, Math.max(Math.max(cols - (2 + width + 1), 0), 20), 100, utf8);
        const more = i + 1 < pids.length || cg.children.length > 0;
        out += `${pre}${more ? g.branch : g.right}${String(pid).padStart(width)} ${name}\n`;
      });
    }
    if (cg.children.length > 0) {
      const children = [...cg.children].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
      const childCols = cols !== 0 ? Math.max(Math.max(cols - 2, 0), 20) : 0;
      children.forEach((child, i) => {
        const more = i + 1 < children.length;
        out += `${pre}${more ? g.branch : g.right}${child.path.slice(child.path.lastIndexOf('/') + 1)}\n`;
        dump(child.path, pre + (more ? g.vertical : g.space), childCols);
      });
    }
    cg.done = true;
  };
  dump(cgroupPath, prefix, columns);

  const extra: Array<[number, string]> = [];
  for (const n of nodes.values()) if (!n.done) for (const [pid, name] of n.pids) extra.push([pid, name]);
  if (extra.length > 0) {
    extra.sort((a, b) => a[0] - b[0]);
    const width = String(extra[extra.length - 1]![0]).length;
    for (const [pid, cmd] of extra) {
      const name = columns !== 0 ? ellipsize(cmd, Math.max(Math.max(columns - (2 + width + 1), 0), 20), 100, utf8) : cmd;
      out += `${prefix}${g.bullet} ${String(pid).padStart(width)} ${name}\n`;
    }
  }
  return out;
}
