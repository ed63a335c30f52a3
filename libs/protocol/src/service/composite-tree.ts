/**
 * Several object trees served on one connection (machined owns org.freedesktop.machine1 and, on
 * hosts without systemd, org.freedesktop.systemd1). A call addressed to one of the well-known
 * names sees only that name's tree, as it would if separate processes served them; a call to our
 * unique name sees all of them, each path going to the tree whose root it is under.
 */
import type { CallContext, ObjectTree, ServedObject } from './object-server.js';

export interface RootedTree {
  root: string;
  /** The well-known name this tree is served under. */
  busName: string;
  tree: ObjectTree;
}

export class CompositeTree implements ObjectTree {
  constructor(private readonly trees: RootedTree[]) {}

  private visible(ctx: CallContext): RootedTree[] {
    const addressed = this.trees.filter(({ busName }) => busName === ctx.destination);
    return addressed.length > 0 ? addressed : this.trees;
  }

  resolve(path: string, ctx: CallContext): ServedObject | null | Promise<ServedObject | null> {
    const owner = this.visible(ctx).find(({ root }) => path === root || path.startsWith(`${root}/`));
    return owner ? owner.tree.resolve(path, ctx) : null;
  }

  children(path: string, ctx: CallContext): string[] {
    return [...new Set(this.visible(ctx).flatMap(({ tree }) => tree.children(path, ctx)))];
  }
}

/** Child nodes of `path` on the way down to `root`, for trees that must be reachable from `/`. */
export function ancestorChildren(root: string, path: string): string[] {
  const below = root.split('/').filter(Boolean);
  const at = path === '/' ? [] : path.split('/').filter(Boolean);
  if (at.length < below.length && at.every((c, i) => below[i] === c)) return [below[at.length]!];
  return [];
}
