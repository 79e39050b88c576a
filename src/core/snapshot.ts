// What sealing sees of a session: the changed part of its tree, copied at one instant. Directories whose
// listing was never loaded are unchanged from the base (reaching a file means loading its directory),
// so they appear as their base tree hash only; a loaded directory lists every entry with its state.
import { FileType } from './attrs.js';
import type { Inode, InodeState } from './inode.js';
import { ROOT_INO, type SessionState } from './session-state.js';

export interface SnapshotEntry {
  name: string;
  node: InodeState;
  /** DIR only */
  dir?: SnapshotDir;
}

export interface SnapshotDir {
  ino: number;
  /** the directory's base tree (null for one made in the session) */
  tree: string | null;
  nlink: number;
  /** null: never loaded, so exactly its base tree */
  entries: SnapshotEntry[] | null;
  /** true: the listing holds the base's names with the base's inodes, so entries lists only what may differ
   *  from the base entry of the same name (changed inodes, and subdirectories); every other entry is the
   *  base's. Sealing then costs O(changes), not O(entries). */
  partial?: boolean;
}

/** The listing was loaded from the base tree and never had a name added or removed since: loading numbers
 *  the base's entries 1..n (session-state.ts listing()), every add takes a higher number, every remove
 *  lowers the size. */
function pristine(d: Inode): boolean {
  return d.tree !== null && d.dir !== null && d.dir.size === d.dir.nextSeq - 1;
}

function build(s: SessionState, d: Inode, reached: Set<number>): SnapshotDir {
  if (!d.dir) return { ino: d.ino, tree: d.tree, nlink: d.nlink, entries: null };
  const partial = pristine(d);
  const entries: SnapshotEntry[] = [];
  for (const slot of d.dir.entries()) {
    const n = s.get(slot.ino);
    // a name whose inode is missing must never vanish from the tree without a word
    if (!n) throw new Error(`cannot seal ${JSON.stringify(slot.name)} in directory inode ${d.ino}: inode ${slot.ino} is missing`);
    reached.add(n.ino);
    const isDir = n.type === FileType.DIR;
    if (partial && !n.dirty && !(isDir && n.dir)) continue; // the base's entry, as it stands
    const e: SnapshotEntry = { name: slot.name, node: n.state() };
    if (isDir) e.dir = build(s, n, reached);
    entries.push(e);
  }
  return partial ? { ino: d.ino, tree: d.tree, nlink: d.nlink, entries, partial } : { ino: d.ino, tree: d.tree, nlink: d.nlink, entries };
}

/** The session's tree right now. After a restart a file changed earlier may sit in a directory whose listing
 *  is not loaded again yet (the checkpoint keeps changed inodes, not their parents' listings), and a changed
 *  hard-linked file may have other names anywhere: then every listing is loaded once, and from then on they
 *  stay loaded. */
export async function snapshot(s: SessionState): Promise<SnapshotDir> {
  let reached = new Set<number>();
  let root = build(s, s.root, reached);
  // A changed hard-linked file may have names in listings not loaded either: each name must carry its
  // content and link count, so then too.
  const unreached = (n: Inode) => !reached.has(n.ino) || (n.type !== FileType.DIR && n.nlink > 1);
  if (s.changedInodes().some((n) => n.ino !== ROOT_INO && unreached(n))) {
    await s.loadAll();
    reached = new Set<number>();
    root = build(s, s.root, reached);
  }
  return root;
}

/** Identifies a local file's content state (sealing remembers the blob it made of it). */
export function contentKey(n: InodeState): string {
  return `${n.size}:${n.mtime.sec}.${n.mtime.nsec}:${n.ctime.sec}.${n.ctime.nsec}`;
}

/** A local file's bytes [offset, offset + len) into buf (for sealing: see ObjectStore.putBlobFrom). */
export function readLocal(s: SessionState, n: InodeState, buf: Buffer, len: number, offset: number): number {
  return s.data.readAt(n.ino, buf, len, offset);
}

/** A file's whole content (small files and tests; sealing streams with readLocal). */
export async function readContent(s: SessionState, n: InodeState): Promise<Buffer> {
  if (n.local) {
    const buf = Buffer.alloc(n.size);
    readLocal(s, n, buf, n.size, 0);
    return buf;
  }
  if (n.blob) return s.source.getBlob(n.blob);
  return Buffer.alloc(0);
}
