// Which old handles still name their object after a rebase, and by which number now. The rebuilt state numbers
// the session's objects anew (its own files, and base objects it moved or kept in a conflict), and may give
// their old numbers to files the other landing made; a handle of such an object carries the epoch (or is a
// handle of a base object whose number the rebase revokes), so it never reaches a number by itself. This table
// says, by handle class and old number (fs/handle-epochs.ts handleClass), the number the same object has now:
// what a process holding a descriptor on it (an editor's buffer, a compiler's output) goes on using. Objects
// that did not survive (deleted, lost in a conflict) have none: STALE (RFC 1813 2.3.3). Kept with the session's
// record (SessionRecord.fsid_from.renumbered), so it survives a daemon's restart, and carried through every
// later rebase (each entry's number is translated again).
//
// The object is found by where the session's sealed tree has it: the rebuilt state holds at that path exactly
// the session's version (the merge's, apply.ts), unless the path was a conflict left with the head's version.
import { EMPTY_TREE, type ObjectStore } from '../store/index.js';
import { KIND_TYPE, type Inode } from '../core/inode.js';
import type { SessionState } from '../core/session-state.js';
import { BASE_CLASS } from '../fs/handle-epochs.js';
import type { FsidFrom } from './record.js';

export interface RenumberInput {
  store: ObjectStore;
  /** the old base's tree and nextIno */
  base: { tree: string; nextIno: number };
  /** the session's sealed tree (its numbers are the old state's) */
  sealed: string;
  /** the old epoch */
  epoch: number;
  /** the record's fsid_from before the rebase (revoked numbers, the table of earlier rebases) */
  from: FsidFrom;
  /** base numbers this rebase revokes because the session moved their objects (moved.ts) */
  moved: ReadonlySet<number>;
  /** the rebuilt state, on the new head */
  built: SessionState;
  /** conflicted paths, and those of them left with the head's version (the session's object is lost there) */
  conflicts: ReadonlyMap<string, boolean>;
  limit: number;
}

export interface Renumbering {
  /** [class, old number, number now]; null past `limit` (the handles of earlier epochs are STALE) */
  renumbered: [number, number, number][] | null;
  /** base numbers to revoke besides `moved`: objects of the base the rebuilt state holds under another number */
  revoke: number[];
}

/** The translation of old handles for a rebuilt state. O(the session's changes, plus the contents of the
 *  directories it moved, plus the table it had). */
export async function renumberHandles(o: RenumberInput): Promise<Renumbering> {
  const revokedOld = new Set(o.from.revoked ?? []);
  /** the class of the old state's handles of its object numbered x */
  const classOf = (x: number): number => (!revokedOld.has(x) && x < o.base.nextIno ? BASE_CLASS : o.epoch);
  /** old number -> number now (null: lost), and whether it was found at a conflicted path */
  const now = new Map<number, { ino: number | null; conflicted: boolean }>();
  const found = (x: number, n: Inode | null, conflicted: boolean): void => {
    const was = now.get(x);
    // a hard-linked object seen at several paths: the rebuilt one, preferably where there was no conflict
    if (was && was.ino !== null && (n === null || (conflicted && !was.conflicted))) return;
    now.set(x, { ino: n?.ino ?? null, conflicted });
  };

  async function walk(b: string, s: string, moved: boolean, dir: Inode | null, prefix: string): Promise<void> {
    if (b === s && !moved) return;
    for (const c of await o.store.diffDir(moved ? EMPTY_TREE : b, s)) {
      const a = c.after;
      if (!a) continue;
      const path = prefix + c.name;
      const lost = o.conflicts.get(path) === true;
      let n = dir && !lost ? await o.built.lookup(dir, c.name) : null;
      if (n && n.type !== KIND_TYPE[a.kind]) n = null; // not the session's object there
      found(a.ino, n, o.conflicts.has(path));
      if (a.kind === 'dir') {
        const here = moved || !c.before || c.before.ino !== a.ino;
        const from = !here && c.before?.kind === 'dir' ? (c.before.hash ?? EMPTY_TREE) : EMPTY_TREE;
        await walk(from, a.hash ?? EMPTY_TREE, here, n, path + '/');
      }
    }
  }
  await walk(o.base.tree, o.sealed, false, o.built.root, '');

  const out: [number, number, number][] = [];
  const revoke: number[] = [];
  for (const [x, { ino: y }] of now) {
    if (y === null) continue;
    const c = classOf(x);
    // an object of the base still under its number: its handles are current as they are
    if (c === BASE_CLASS && y === x && !o.moved.has(x)) continue;
    out.push([c, x, y]);
    if (c === BASE_CLASS && y !== x && !o.moved.has(x)) revoke.push(x);
  }
  // numbers revoked before, unchanged by the session: the same object (the head's, or none) as before
  for (const x of revokedOld) if (!now.has(x)) out.push([o.epoch, x, x]);
  // earlier rebases' entries: their number is one of the old state, translated as that state's objects are
  for (const [c, x, z] of o.from.renumbered ?? []) {
    const n = now.get(z);
    if (n) {
      if (n.ino !== null) out.push([c, x, n.ino]);
    } else if (z < o.base.nextIno || revokedOld.has(z)) out.push([c, x, z]); // kept in place (or gone: STALE)
    // else an object the session made and has since deleted
    if (out.length > o.limit) break;
  }
  return { renumbered: out.length > o.limit ? null : out, revoke };
}
