// The objects of a session's base that the session moved: renamed (or silly-renamed by an NFS client: a file
// removed while open), or inside a directory it renamed. Merging numbers the session's version of each afresh
// (merge.ts), while the head may still hold the object under its old number, changed or not: after a rebase
// that number names the head's version, no longer the file the session's clients hold a handle of. Rebase
// withdraws such numbers from the handles of earlier epochs (SessionRecord.fsid_from.revoked, session-fs.ts).
import { EMPTY_TREE, type ObjectStore } from '../store/index.js';

/**
 * Base inode numbers (below `baseNext`) that tree `session` has at another place than tree `base`; null when
 * there are more than `limit` of them (the caller then gives the export a new fsid). O(the session's changes,
 * plus the contents of the directories it moved).
 */
export async function movedBaseInos(
  store: ObjectStore,
  base: string,
  session: string,
  baseNext: number,
  limit: number,
): Promise<number[] | null> {
  const out = new Set<number>();
  async function walk(b: string, s: string, moved: boolean): Promise<boolean> {
    if (b === s && !moved) return true;
    for (const c of await store.diffDir(moved ? EMPTY_TREE : b, s)) {
      const a = c.after;
      if (!a) continue;
      const here = moved || !c.before || c.before.ino !== a.ino;
      if (here && a.ino < baseNext) {
        out.add(a.ino);
        if (out.size > limit) return false;
      }
      if (a.kind === 'dir') {
        const from = !here && c.before?.kind === 'dir' ? (c.before.hash ?? EMPTY_TREE) : EMPTY_TREE;
        if (!(await walk(from, a.hash ?? EMPTY_TREE, here))) return false;
      }
    }
    return true;
  }
  return (await walk(base, session, false)) ? [...out].sort((x, y) => x - y) : null;
}
