// Sealing: turn a session's live copy-on-write view into a content-addressed tree.
//
// Only what the session touched costs anything:
//   - a directory whose listing was never loaded keeps its base tree hash (nothing below it can have changed:
//     reaching a file means loading its directory's listing);
//   - a loaded directory is compared entry by entry with its base listing and written with updateDir
//     (O(changed entries) new nodes), or keeps its hash when nothing in it changed;
//   - a file whose data is local (written in the session) becomes a blob; other files keep their blob hash.
// Inode numbers become TreeEntry.ino, so a landed tree keeps the fileids the mount showed.
import { ROOT_INO, type SessionFs } from '../fs/session-fs.js';
import type { Inode } from '../fs/inode.js';
import { FileType } from '../fs/types.js';
import { TYPE_KIND } from '../fs/inode.js';
import { EMPTY_TREE, sha256Hex, type ObjectStore, type TreeEntry } from '../store/index.js';
import type { SessionRecord } from './record.js';
import { fsBaseOf } from './fs-base.js';

export interface SealedTree {
  tree: string;
  /** one past the highest inode number in use (at least the base's nextIno) */
  nextIno: number;
}

/** sessions/<id>/tree.json: the session's tree, and the base (tree and head) it is measured against */
export interface TreeDoc { base: string; base_head?: string; tree: string; nextIno: number; sealed_at: string }

/** Blob hashes of local files, keyed by the state that produced them (so a second seal does not re-hash). */
const blobMemo = new WeakMap<Inode, { key: string; hash: string }>();

function stateKey(n: Inode): string {
  return `${n.size}:${n.mtime.sec}.${n.mtime.nsec}:${n.ctime.sec}.${n.ctime.nsec}`;
}

/** The session's tree right now. Safe to run while the export serves clients: each listing is copied first. */
export async function sealSession(fs: SessionFs, store: ObjectStore, base: { tree: string; nextIno: number }): Promise<SealedTree> {
  let maxIno = base.nextIno - 1;
  const writes: Promise<unknown>[] = [];
  let entryHook: (n: Inode) => void = () => {};

  async function entryOf(name: string, n: Inode): Promise<TreeEntry> {
    entryHook(n);
    if (n.ino > maxIno) maxIno = n.ino;
    const kind = TYPE_KIND[n.type];
    if (!kind) throw new Error(`cannot seal ${JSON.stringify(name)} (inode ${n.ino}): file type ${n.type} has no tree kind`);
    const e: TreeEntry = { name, kind, mode: n.mode & 0o7777, ino: n.ino, size: 0, mtime: [n.mtime.sec, n.mtime.nsec] };
    // every name of a hard-linked inode records its link count, so the next session loads the right nlink
    if (n.type !== FileType.DIR && n.nlink > 1) e.links = n.nlink;
    switch (n.type) {
      case FileType.REG: {
        if (n.local) {
          const key = stateKey(n);
          const memo = blobMemo.get(n);
          if (memo && memo.key === key) {
            e.hash = memo.hash;
            e.size = n.size;
          } else {
            const content = await fs.readAll(n);
            // the hash now, the write in the background: directory nodes need only the hash, and
            // every write is awaited before sealSession returns (so before any head can name it)
            const hash = sha256Hex(content);
            writes.push(store.putBlob(content).then(() => blobMemo.set(n, { key, hash })));
            e.hash = hash;
            e.size = content.length;
          }
        } else if (n.blob) {
          e.hash = n.blob;
          e.size = n.size;
        } else {
          e.hash = await store.putBlob(Buffer.alloc(0));
        }
        break;
      }
      case FileType.DIR: {
        const sub = await sealDir(n);
        e.hash = sub.hash;
        e.dirs = sub.dirs;
        break;
      }
      case FileType.LNK:
        e.target = n.target ?? '';
        e.size = Buffer.byteLength(e.target);
        break;
      case FileType.CHR: case FileType.BLK:
        e.rdev = [n.rdev?.[0] ?? 0, n.rdev?.[1] ?? 0];
        break;
      default:
        break;
    }
    return e;
  }

  async function sealDir(d: Inode): Promise<{ hash: string; dirs: number }> {
    if (!d.dir) return { hash: d.tree ?? EMPTY_TREE, dirs: Math.max(0, d.nlink - 2) };
    const slots = [...d.dir.entries()].map((s) => ({ name: s.name, ino: s.ino }));
    const entries: TreeEntry[] = [];
    await Promise.all(slots.map(async (s) => {
      const n = fs.inodeByIno(s.ino);
      if (!n) {
        // removed while we looked: the name is gone from the listing too
        if (d.dir?.get(s.name)?.ino !== s.ino) return;
        // a name whose inode is missing must never vanish from the tree without a word
        throw new Error(`cannot seal ${JSON.stringify(s.name)} in directory inode ${d.ino}: inode ${s.ino} is missing`);
      }
      entries.push(await entryOf(s.name, n));
    }));
    const dirs = entries.filter((e) => e.kind === 'dir').length;
    if (!d.tree) return { hash: await store.writeDir(entries), dirs };
    const baseList = await store.listDir(d.tree);
    const before = new Map(baseList.map((e) => [e.name, e]));
    const changes = new Map<string, TreeEntry | null>();
    for (const e of entries) {
      const old = before.get(e.name);
      before.delete(e.name);
      if (!old || !sameEntry(old, e)) changes.set(e.name, e);
    }
    for (const name of before.keys()) changes.set(name, null);
    return { hash: changes.size ? await store.updateDir(d.tree, changes) : d.tree, dirs };
  }

  const reached = new Set<number>();
  const seal = async () => {
    reached.clear();
    maxIno = base.nextIno - 1;
    return sealDir(fs.rootInode());
  };
  entryHook = (n) => reached.add(n.ino);
  let root = await seal();
  // After a restart, a file changed earlier may sit in a directory whose listing is not loaded again yet
  // (the checkpoint keeps changed inodes, not their parents' listings). Then load every listing once;
  // from then on they stay loaded and sealing is O(touched) again.
  // A changed hard-linked file may have names in listings not loaded either: every name must carry its
  // content and link count, so then too.
  const missed = fs.changedInodes().some((n) => n.ino !== ROOT_INO && (!reached.has(n.ino) || (n.type !== FileType.DIR && n.nlink > 1)));
  if (missed) {
    await fs.walk(() => {});
    root = await seal();
  }
  await Promise.all(writes);
  return { tree: root.hash, nextIno: Math.max(base.nextIno, maxIno + 1) };
}

/** Entries equal in every stored field. */
export function sameEntry(a: TreeEntry, b: TreeEntry): boolean {
  return a.kind === b.kind && a.mode === b.mode && a.ino === b.ino && a.size === b.size &&
    a.mtime[0] === b.mtime[0] && a.mtime[1] === b.mtime[1] && (a.hash ?? null) === (b.hash ?? null) &&
    (a.target ?? null) === (b.target ?? null) && (a.kind !== 'dir' || (a.dirs ?? 0) === (b.dirs ?? 0)) &&
    (a.links ?? 1) === (b.links ?? 1) && (a.rdev?.[0] ?? 0) === (b.rdev?.[0] ?? 0) && (a.rdev?.[1] ?? 0) === (b.rdev?.[1] ?? 0);
}

/** Write sessions/<id>/tree.json for a sealed tree. */
export async function recordTree(store: ObjectStore, r: SessionRecord, sealed: SealedTree): Promise<void> {
  const doc: TreeDoc = { base: r.base.tree, base_head: r.base.head, tree: sealed.tree, nextIno: sealed.nextIno, sealed_at: new Date().toISOString() };
  await store.putJson(`sessions/${r.session_id}/tree.json`, doc);
}

/** Seal the open filesystem of r (from the tree it started from: see fs-base.ts). */
export function sealOpen(fs: SessionFs, store: ObjectStore, r: SessionRecord): Promise<SealedTree> {
  return sealSession(fs, store, fsBaseOf(fs, r));
}

/** Waits for queued uploads, if the backend queues them, so that a recorded tree is complete in the store. */
export async function drainUploads(store: ObjectStore): Promise<void> {
  const b = store.backend as { drain?: () => Promise<void>; flush?: () => Promise<void> };
  if (typeof b.drain === 'function') await b.drain();
  else if (typeof b.flush === 'function') await b.flush();
}

/** Seal and record sessions/<id>/tree.json. */
export async function sealAndRecord(fs: SessionFs, store: ObjectStore, r: SessionRecord): Promise<SealedTree> {
  const sealed = await sealOpen(fs, store, r);
  await drainUploads(store);
  await recordTree(store, r, sealed);
  return sealed;
}
