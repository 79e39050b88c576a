// Sealing: turn a session's live copy-on-write state into a content-addressed tree, from the core's
// snapshot() (core/snapshot.ts). Only what the session touched costs anything:
//   - a directory whose listing was never loaded keeps its base tree hash;
//   - a loaded directory is compared entry by entry with its base listing and written with updateDir
//     (O(changed entries) new nodes), or keeps its hash when nothing in it changed;
//   - a file whose data is local (written in the session) becomes a blob; other files keep their blob hash.
// Inode numbers become TreeEntry.ino, so a landed tree keeps the fileids the mount showed.
import type { SessionState } from '../core/session-state.js';
import { FileType } from '../core/attrs.js';
import { TYPE_KIND } from '../core/inode.js';
import { contentKey, readLocal, snapshot, type SnapshotDir, type SnapshotEntry } from '../core/snapshot.js';
import { EMPTY_TREE, type ObjectStore, type TreeEntry } from '../store/index.js';
import { Limiter } from '../store/limiter.js';
import type { SessionRecord } from './record.js';
import { recordTree } from './tree-doc.js';
import { StoreUnavailableError } from './errors.js';

export type { TreeDoc } from './tree-doc.js';
export { recordTree };

export interface SealedTree {
  tree: string;
  /** one past the highest inode number in use (at least the base's nextIno) */
  nextIno: number;
}

/** The session's tree right now. Safe to run while the session serves clients: it seals a snapshot. */
export async function sealSession(s: SessionState, store: ObjectStore, base: { tree: string; nextIno: number }): Promise<SealedTree> {
  // nothing changed since the last seal (a landing right after an API change, or after the background
  // sealer): its tree, whose objects that seal made durable; recent only, well inside gc's grace period
  const last = base === s.start ? lastSeals.get(s) : undefined;
  if (last && last.generation === s.generation && last.epoch === sealEpoch && Date.now() - last.at < REUSE_SEAL_MS)
    return { tree: last.tree, nextIno: last.nextIno };
  let maxIno = base.nextIno - 1;
  // files are read and stored a few at a time, each streamed through the chunker: memory stays bounded
  const files = new Limiter(4);

  async function entryOf(e0: SnapshotEntry): Promise<TreeEntry> {
    const n = e0.node;
    if (n.ino > maxIno) maxIno = n.ino;
    const kind = TYPE_KIND[n.type];
    if (!kind) throw new Error(`cannot seal ${JSON.stringify(e0.name)} (inode ${n.ino}): file type ${n.type} has no tree kind`);
    const e: TreeEntry = { name: e0.name, kind, mode: n.mode & 0o7777, ino: n.ino, size: 0, mtime: [n.mtime.sec, n.mtime.nsec] };
    // every name of a hard-linked inode records its link count, so the next session loads the right nlink
    if (n.type !== FileType.DIR && n.nlink > 1) e.links = n.nlink;
    switch (n.type) {
      case FileType.REG: {
        if (n.local) {
          const key = contentKey(n);
          const memo = s.sealedBlob(n.ino, key);
          if (memo) {
            e.hash = memo;
            e.size = n.size;
          } else {
            // stored before the directory naming it (so before any head can name it)
            const hash = await files.run(() => store.putBlobFrom(n.size, (buf, len, off) => readLocal(s, n, buf, len, off)));
            s.rememberSealedBlob(n.ino, key, hash);
            e.hash = hash;
            e.size = n.size;
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
        const sub = await sealDir(e0.dir!);
        e.hash = sub.hash;
        e.dirs = sub.dirs;
        break;
      }
      case FileType.LNK:
        e.target = n.target ?? '';
        e.size = Buffer.byteLength(e.target);
        break;
      case FileType.CHR:
      case FileType.BLK:
        e.rdev = [n.rdev?.[0] ?? 0, n.rdev?.[1] ?? 0];
        break;
      default:
        break;
    }
    return e;
  }

  async function sealDir(d: SnapshotDir): Promise<{ hash: string; dirs: number }> {
    if (!d.entries) return { hash: d.tree ?? EMPTY_TREE, dirs: Math.max(0, d.nlink - 2) };
    if (d.partial && d.tree) return sealPartial(d, d.tree);
    const entries: TreeEntry[] = [];
    await Promise.all(
      d.entries.map(async (s0) => {
        entries.push(await entryOf(s0));
      }),
    );
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

  /** A listing with the base's names (snapshot.ts, partial): only the entries that may differ are looked at,
   *  each against its base entry (one trie path each), so a directory of any size costs O(its changes). */
  async function sealPartial(d: SnapshotDir, tree: string): Promise<{ hash: string; dirs: number }> {
    const changes = new Map<string, TreeEntry>();
    await Promise.all(
      d.entries!.map(async (s0) => {
        const [e, old] = await Promise.all([entryOf(s0), store.lookupDir(tree, s0.name)]);
        if (!old || !sameEntry(old, e)) changes.set(s0.name, e);
      }),
    );
    // the base's names, so its subdirectories (a kind changes only by remove and add): nlink - 2, as for a
    // listing never loaded
    return { hash: changes.size ? await store.updateDir(tree, changes) : tree, dirs: Math.max(0, d.nlink - 2) };
  }

  // the seal's objects become durable in one flush at its end (object-io.ts batch): before anything names them
  const generation = s.generation;
  const epoch = sealEpoch;
  const root = await store.batch(async () => sealDir(await snapshot(s)));
  const out = { tree: root.hash, nextIno: Math.max(base.nextIno, maxIno + 1) };
  if (base === s.start) lastSeals.set(s, { ...out, generation, at: Date.now(), epoch });
  return out;
}

/** A seal is reused this long at most (SAFE_GC_GRACE_MS is 2 h: its objects are still young). */
const REUSE_SEAL_MS = 10 * 60_000;
const lastSeals = new WeakMap<SessionState, SealedTree & { generation: number; at: number; epoch: number }>();
let sealEpoch = 0;

/** After a garbage collection (Catalog.dropCaches): no seal is reused, its objects are checked again. */
export function forgetSeals(): void {
  sealEpoch++;
}

/** The tree of the session's last seal in this process (any: the background sealer's, an API change's, a
 *  GET's), and the state's change counter then; null if it was never sealed since it was opened. What a
 *  listing shows without sealing (session-list.ts). */
export function lastSeal(s: SessionState): (SealedTree & { generation: number }) | null {
  const l = lastSeals.get(s);
  return l && l.generation <= s.generation ? { tree: l.tree, nextIno: l.nextIno, generation: l.generation } : null;
}

/** Entries equal in every stored field. */
export function sameEntry(a: TreeEntry, b: TreeEntry): boolean {
  return (
    a.kind === b.kind &&
    a.mode === b.mode &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtime[0] === b.mtime[0] &&
    a.mtime[1] === b.mtime[1] &&
    (a.hash ?? null) === (b.hash ?? null) &&
    (a.target ?? null) === (b.target ?? null) &&
    (a.kind !== 'dir' || (a.dirs ?? 0) === (b.dirs ?? 0)) &&
    (a.links ?? 1) === (b.links ?? 1) &&
    (a.rdev?.[0] ?? 0) === (b.rdev?.[0] ?? 0) &&
    (a.rdev?.[1] ?? 0) === (b.rdev?.[1] ?? 0)
  );
}

/** Seal the open state of a session (from the tree it started from: SessionState.start). */
export function sealOpen(s: SessionState, store: ObjectStore): Promise<SealedTree> {
  return sealSession(s, store, s.start);
}

/** Waits for queued uploads, if the backend queues them, so that a recorded tree is complete in the store.
 *  timeoutMs: at most this long (default: as long as it takes), then StoreUnavailableError (uploads_pending). */
export async function drainUploads(store: ObjectStore, timeoutMs?: number): Promise<void> {
  const b = store.backend as {
    drain?: (ms?: number) => Promise<boolean>;
    flush?: () => Promise<void>;
    uploadStats?: () => { queued: number; oldestPendingMs: number; retries: number } | null;
  };
  if (typeof b.drain === 'function') {
    if (await b.drain(timeoutMs)) return;
    const s = b.uploadStats?.();
    throw new StoreUnavailableError(
      `the object store did not take the uploads this needs within ${Math.round((timeoutMs ?? 0) / 1000)} s` +
        (s ? ` (${s.queued} object(s) queued, oldest ${Math.round(s.oldestPendingMs / 1000)} s, ${s.retries} failed attempts)` : '') +
        '; they stay queued and are uploaded once it takes them: nothing is lost, try again then',
      'uploads_pending',
    );
  } else if (typeof b.flush === 'function') await b.flush();
}

/** Seal and record sessions/<id>/tree.json. */
/** fence: runs just before tree.json is written, and throws if this daemon may no longer write it (lease.ts). */
export async function sealAndRecord(
  s: SessionState,
  store: ObjectStore,
  r: SessionRecord,
  fence?: () => Promise<void>,
  waitMs?: number,
): Promise<SealedTree> {
  const sealed = await sealOpen(s, store);
  await drainUploads(store, waitMs);
  await fence?.();
  await recordTree(store, r, sealed);
  return sealed;
}
