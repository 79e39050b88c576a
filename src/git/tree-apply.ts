// Applies path-level changes (git's filemodify/filedelete) to a mic-fs tree, rewriting only the
// directories on changed paths. Directories left empty disappear, as git has no empty directories.
// Unchanged entries keep their fileids; new ones take fresh ones from nextIno.
import { EMPTY_TREE, type ObjectStore, type TreeEntry } from '../store/index.js';

/** What goes at a path: an entry without name/ino/mtime (filled in here), or null to delete. */
export type Leaf = Omit<TreeEntry, 'name' | 'ino' | 'mtime'> | null;

interface Node {
  children: Map<string, Slot>;
}
/** set: the path's new entry (undefined: keep); reset: start the directory from empty; sub: changes below */
interface Slot {
  set?: Leaf;
  reset?: boolean;
  sub?: Node;
}

export class ChangeSet {
  private readonly root: Node = { children: new Map() };
  deleteAll = false;
  size = 0;

  put(names: readonly string[], leaf: Leaf): void {
    if (names.length === 0) return;
    this.size++;
    let node = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      let s = node.children.get(names[i]!);
      if (!s) {
        s = {};
        node.children.set(names[i]!, s);
      }
      if (s.set !== undefined) {
        s.reset = true;
        s.set = undefined;
      } // a file or a deletion becomes a directory
      s.sub ??= { children: new Map() };
      node = s.sub;
    }
    node.children.set(names[names.length - 1]!, { set: leaf });
  }

  /** The new root tree and next fileid. */
  async apply(store: ObjectStore, tree: string, nextIno: number, mtime: [number, number]): Promise<{ tree: string; nextIno: number }> {
    const ctx = { store, nextIno, mtime };
    const r = await applyDir(ctx, this.deleteAll ? EMPTY_TREE : tree, this.root);
    return { tree: r.hash, nextIno: ctx.nextIno };
  }
}

interface Ctx {
  store: ObjectStore;
  nextIno: number;
  mtime: [number, number];
}

/** Returns the directory's new hash and how many subdirectories it gained (may be negative). */
async function applyDir(ctx: Ctx, hash: string, node: Node): Promise<{ hash: string; dirsDelta: number }> {
  const changes = new Map<string, TreeEntry | null>();
  let dirsDelta = 0;
  await Promise.all(
    [...node.children].map(async ([name, slot]) => {
      const old = hash === EMPTY_TREE ? null : await ctx.store.lookupDir(hash, name);
      let next: TreeEntry | null;
      if (slot.sub) {
        const base = !slot.reset && old?.kind === 'dir' ? (old.hash ?? EMPTY_TREE) : EMPTY_TREE;
        const r = await applyDir(ctx, base, slot.sub);
        if (r.hash === EMPTY_TREE) next = null;
        else {
          const dirs = (base === EMPTY_TREE ? 0 : (old?.dirs ?? 0)) + r.dirsDelta;
          next = {
            name,
            kind: 'dir',
            mode: 0o755,
            ino: old?.kind === 'dir' ? old.ino : ctx.nextIno++,
            size: 0,
            mtime: ctx.mtime,
            hash: r.hash,
            dirs,
          };
        }
      } else {
        const leaf = slot.set!;
        next =
          leaf === null
            ? null
            : ({ ...leaf, name, ino: old && old.kind === leaf.kind ? old.ino : ctx.nextIno++, mtime: ctx.mtime } as TreeEntry);
      }
      if (next === null && old === null) return;
      dirsDelta += (next?.kind === 'dir' ? 1 : 0) - (old?.kind === 'dir' ? 1 : 0);
      changes.set(name, next);
    }),
  );
  if (changes.size === 0) return { hash, dirsDelta: 0 };
  return { hash: await ctx.store.updateDir(hash, changes), dirsDelta };
}
