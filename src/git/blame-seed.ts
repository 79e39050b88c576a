// The blame index (session/blame-index.ts) of an imported history's tip, built from the changes the
// import applies: for each path on the tip's first-parent chain, the head that last changed it (a directory
// changes with anything below it; a put of the same content is no change, as sameContent sees it). One
// index object for the tip with base null (it covers all history) instead of one per imported head: per
// head, each object would hold its changed directories' whole child lists (~20 KB a commit on a history of
// 2k files in 40 directories), which would double the import's time and bytes. Blame of the tip (and of
// every session landed on it: their indexes continue this one) reads it; an older imported head has none,
// and blame there walks, as it does for any head without an index.
import type { ObjectStore } from '../store/index.js';
import { putHeadIndex, writeNode, type IndexNode, type Writer } from '../session/blame-index.js';

interface FileSlot {
  h: string;
  /** what sameContent compares: kind, mode, hash or target */
  sig: string;
}
interface DirSlot {
  h: string;
  c: Map<string, FileSlot | DirSlot>;
}
const isDir = (s: FileSlot | DirSlot | undefined): s is DirSlot => s !== undefined && 'c' in s;

export class BlameSeed {
  private root: DirSlot = { h: '', c: new Map() };

  /** Everything goes (git's deleteall): puts that follow with the same content are no change. */
  deleteAll(): Map<string, FileSlot> {
    const old = new Map<string, FileSlot>();
    const walk = (d: DirSlot, p: string) => {
      for (const [n, s] of d.c) {
        if (isDir(s)) walk(s, `${p}${n}/`);
        else old.set(p + n, s);
      }
    };
    walk(this.root, '');
    this.root = { h: '', c: new Map() };
    return old;
  }

  /** A path changed at head: sig null deletes (a file or a whole directory). */
  change(names: readonly string[], sig: string | null, head: string, before?: FileSlot): void {
    const dirs: DirSlot[] = [this.root];
    let d = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      let s = d.c.get(names[i]!);
      if (!isDir(s)) {
        if (sig === null) return; // nothing there to delete
        s = { h: head, c: new Map() };
        d.c.set(names[i]!, s);
      }
      d = s;
      dirs.push(d);
    }
    const name = names[names.length - 1]!;
    const cur = d.c.get(name) ?? before;
    if (sig === null) {
      if (!d.c.has(name)) return;
      d.c.delete(name);
    } else {
      if (cur && !isDir(cur) && cur.sig === sig) {
        d.c.set(name, cur);
        return;
      }
      d.c.set(name, { h: head, sig });
    }
    for (let i = dirs.length - 1; i >= 1; i--) {
      const dir = dirs[i]!;
      if (dir.c.size === 0) dirs[i - 1]!.c.delete(names[i - 1]!); // git has no empty directories
      dir.h = head;
    }
  }

  /** Stores the index of head (the tip whose chain was given). */
  async write(store: ObjectStore, head: string): Promise<void> {
    const w: Writer = { head, nodes: {} };
    const node = (s: FileSlot | DirSlot): string => {
      if (!isDir(s)) return writeNode(w, { h: s.h });
      const n: IndexNode = { h: s.h };
      if (s.c.size) n.c = Object.fromEntries([...s.c].map(([k, v]) => [k, node(v)]));
      return writeNode(w, n);
    };
    const top: IndexNode = {};
    if (this.root.c.size) top.c = Object.fromEntries([...this.root.c].map(([k, v]) => [k, node(v)]));
    await putHeadIndex(store, head, { root: writeNode(w, top), base: null, nodes: w.nodes });
  }
}
