// Three-way merge of trees: base B (where the session started), session S (its sealed tree) and the
// current head H. Recursive per directory with diffDir, so directories that only one side changed cost
// O(that side's changes) and equal subtrees are never read.
//
//   - a name only S changed takes S's version; a name only H changed keeps H's;
//   - both changed it the same way (same kind, content and mode): no conflict;
//   - both changed a directory: merge inside it;
//   - otherwise a conflict, reported with its path and kind.
//
// Inode numbers: entries S created (ino >= B.nextIno) are renumbered past H's, ino' = ino - B.nextIno + H.nextIno,
// so they cannot collide with what H created meanwhile; the new nextIno is H.nextIno + (S.nextIno - B.nextIno).
// A base object S moved to a new path (rename, second link) gets a fresh number above that, since H may
// hold it elsewhere too; so does everything inside a moved directory. Fileids stay unique in the result, except
// that every name of a hard-linked file (TreeEntry.links > 1) keeps the one ino the names share.
//
// Hard links: a name whose entry S changed only by its link count (S gave the file another name, or took one
// away) while H changed the file is no conflict: H's version with S's count, and every name S gave the file
// gets H's content too (relink), so all names of the inode agree in the result.
import { EMPTY_TREE, type ObjectStore, type TreeEntry } from '../store/index.js';
import { sameContent } from './changes.js';

export type ConflictKind = 'modify/modify' | 'add/add' | 'modify/delete' | 'delete/modify' | 'dir/file';

export interface ConflictSide {
  kind: TreeEntry['kind'];
  hash: string | null;
  size: number;
  mode: number;
  target?: string;
}

export interface Conflict {
  path: string;
  kind: ConflictKind;
  /** the entry in the base, the session and the head (null: absent) */
  base: ConflictSide | null;
  session: ConflictSide | null;
  head: ConflictSide | null;
}

export interface TreeRef {
  tree: string;
  nextIno: number;
}

export interface MergeResult {
  tree: string;
  nextIno: number;
  conflicts: Conflict[];
}

const isDir = (e: TreeEntry | null | undefined): e is TreeEntry => e?.kind === 'dir';

function side(e: TreeEntry | null): ConflictSide | null {
  if (!e) return null;
  const s: ConflictSide = { kind: e.kind, hash: e.hash ?? null, size: e.size, mode: e.mode };
  if (e.target !== undefined) s.target = e.target;
  return s;
}

export function conflictKind(base: TreeEntry | null, s: TreeEntry | null, h: TreeEntry | null): ConflictKind {
  if (s && h && isDir(s) !== isDir(h)) return 'dir/file';
  if (!base) return 'add/add';
  if (!s) return 'delete/modify';
  if (!h) return 'modify/delete';
  return 'modify/modify';
}

const later = (a: [number, number], b: [number, number]): [number, number] => (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]) ? a : b);

export interface MergeOptions {
  /** keep H's version of conflicted paths and still build the tree (rebase); by default a conflict
   *  stops the writing of trees and the result's tree is meaningless */
  keepHeadOnConflict?: boolean;
}

export async function mergeTrees(store: ObjectStore, B: TreeRef, S: TreeRef, H: TreeRef, opts: MergeOptions = {}): Promise<MergeResult> {
  // nothing landed since the session started: the session's tree is the result as it stands
  if (H.tree === B.tree && H.nextIno === B.nextIno) return { tree: S.tree, nextIno: S.nextIno, conflicts: [] };
  if (S.tree === B.tree) return { tree: H.tree, nextIno: H.nextIno, conflicts: [] };

  const conflicts: Conflict[] = [];
  /** paths of the names of hard-linked files S's changes bring, by their ino in the result */
  const linkedNames = new Map<number, string[]>();
  /** base objects S only relinked while H changed them: H's entry, whose content every name takes */
  const relinked = new Map<number, TreeEntry>();
  let fresh = H.nextIno + Math.max(0, S.nextIno - B.nextIno);
  const moved = new Map<number, number>();

  function inoFor(after: TreeEntry, before: TreeEntry | null): number {
    if (after.ino >= B.nextIno) return after.ino - B.nextIno + H.nextIno;
    if (before && before.ino === after.ino) return after.ino;
    // a new name of a hard-linked base file: its other names keep the ino, so must this one
    if ((after.links ?? 1) > 1) return after.ino;
    let n = moved.get(after.ino);
    if (n === undefined) {
      n = fresh++;
      moved.set(after.ino, n);
    }
    return n;
  }

  /** S's version of an entry where H still has B's, renumbered. */
  async function adopt(before: TreeEntry | null, after: TreeEntry | null, path: string): Promise<TreeEntry | null> {
    if (!after) return null;
    const ino = inoFor(after, before);
    if (after.kind !== 'dir') {
      if ((after.links ?? 1) > 1) linkedNames.set(ino, [...(linkedNames.get(ino) ?? []), path]);
      return ino === after.ino ? after : { ...after, ino };
    }
    // a moved directory is renumbered throughout: diff it against nothing
    const keep = before && before.ino === after.ino && isDir(before);
    const sub = await adoptTree(keep ? (before.hash ?? EMPTY_TREE) : EMPTY_TREE, after.hash ?? EMPTY_TREE, path + '/');
    return { ...after, ino, hash: sub };
  }

  /** The tree s with S's changes against b renumbered; b is also H's version here. */
  async function adoptTree(b: string, s: string, prefix: string): Promise<string> {
    if (b === s) return s;
    const updates = new Map<string, TreeEntry | null>();
    await Promise.all(
      (await store.diffDir(b, s)).map(async (c) => {
        updates.set(c.name, await adopt(c.before, c.after, prefix + c.name));
      }),
    );
    return store.updateDir(b, updates);
  }

  /** Merge one directory level; returns the new hash and the change in its number of subdirectories. */
  async function mergeDir(b: string, s: string, h: string, prefix: string): Promise<{ hash: string; delta: number }> {
    if (s === b || s === h) return { hash: h, delta: 0 };
    const [sChanges, hChanges] = await Promise.all([store.diffDir(b, s), h === b ? [] : store.diffDir(b, h)]);
    const hByName = new Map(hChanges.map((c) => [c.name, c]));
    const updates = new Map<string, TreeEntry | null>();
    let delta = 0;
    await Promise.all(
      sChanges.map(async (sc) => {
        const path = prefix + sc.name;
        const hc = hByName.get(sc.name);
        if (!hc) {
          const e = await adopt(sc.before, sc.after, path);
          updates.set(sc.name, e);
          delta += (isDir(e) ? 1 : 0) - (isDir(sc.before) ? 1 : 0);
          return;
        }
        const be = sc.before,
          sa = sc.after,
          ha = hc.after;
        if (sameContent(sa, ha)) return; // the same change on both sides
        if (isDir(sa) && isDir(ha)) {
          const sub = await mergeDir(
            isDir(be) ? (be.hash ?? EMPTY_TREE) : EMPTY_TREE,
            sa.hash ?? EMPTY_TREE,
            ha.hash ?? EMPTY_TREE,
            path + '/',
          );
          const sChangedMode = be ? sa.mode !== be.mode : false;
          const hChangedMode = be ? ha.mode !== be.mode : true;
          updates.set(sc.name, {
            ...ha,
            hash: sub.hash,
            dirs: (ha.dirs ?? 0) + sub.delta,
            mode: sChangedMode && !hChangedMode ? sa.mode : ha.mode,
            mtime: later(sa.mtime, ha.mtime),
          });
          return;
        }
        if (onlyRelinked(be, sa, ha)) {
          const e: TreeEntry = { ...ha! };
          delete e.links;
          if (sa!.links !== undefined) e.links = sa!.links;
          updates.set(sc.name, e);
          relinked.set(ha!.ino, ha!);
          return;
        }
        conflicts.push({ path, kind: conflictKind(be, sa, ha), base: side(be), session: side(sa), head: side(ha) });
      }),
    );
    if (conflicts.length && !opts.keepHeadOnConflict) return { hash: h, delta: 0 }; // the result is discarded
    return { hash: await store.updateDir(h, updates), delta };
  }

  let { hash: tree } = await mergeDir(B.tree, S.tree, H.tree, '');
  conflicts.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  if (!conflicts.length || opts.keepHeadOnConflict)
    for (const [ino, h] of relinked)
      for (const path of linkedNames.get(ino) ?? [])
        tree = await editAt(store, tree, path.split('/'), (e) => ({ ...e, hash: h.hash, size: h.size, mtime: h.mtime, mode: h.mode }));
  return { tree, nextIno: fresh, conflicts };
}

/** S changed a file's entry only by its link count, and H changed the same object otherwise. */
function onlyRelinked(be: TreeEntry | null, sa: TreeEntry | null, ha: TreeEntry | null): boolean {
  return (
    !!be &&
    !!sa &&
    !!ha &&
    be.kind !== 'dir' &&
    sa.ino === be.ino &&
    ha.ino === be.ino &&
    ha.kind === be.kind &&
    sameContent(be, sa) &&
    (be.links ?? 1) !== (sa.links ?? 1)
  );
}

/** The tree with the entry at `parts` replaced by edit(entry); unchanged when there is none. */
async function editAt(store: ObjectStore, tree: string, parts: string[], edit: (e: TreeEntry) => TreeEntry): Promise<string> {
  const e = await store.lookupDir(tree, parts[0]);
  if (!e) return tree;
  if (parts.length === 1) return store.updateDir(tree, new Map([[parts[0], edit(e)]]));
  if (e.kind !== 'dir') return tree;
  const sub = await editAt(store, e.hash ?? EMPTY_TREE, parts.slice(1), edit);
  return store.updateDir(tree, new Map([[parts[0], { ...e, hash: sub }]]));
}
