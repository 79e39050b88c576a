// The blame index: for each head, which head last changed each path, so `mic blame` answers without
// walking the history (issue 10: ≤ 50 ms with 100k heads).
//
// The index of a head is a trie parallel to the head's tree, of JSON nodes named by their SHA-256: a node
// holds `h`, the head that last changed its path (the entry differs from the one in that head's parent, as
// sameContent sees it: a revert A→B→A is a change, so the later A is blamed), and `c`, its children's
// nodes. Each landing makes new nodes only along the paths it changed (the same trie diff as changes.ts) and
// stores them in one object, blame/<h[0:2]>/<head> = { root, base, nodes }; a node is named "<head>:<hash>",
// the head whose object holds it, so unchanged subtries are shared with older heads' indexes. One write
// per landing: landing 1,000 files costs one object, not one per node.
//
// A directory made whole by a head (added, or the first head's root) records it as `a`, and a path below it
// without a node of its own was last changed there: adding 10k files writes one node, not 10k.
// Otherwise a path with no node is unchanged since `base`: the head the index chain started from (null: the chain
// starts at the project's first head, so every path is in it). A chain starts wherever the parent has no
// index — heads landed before the index existed, or a crash between the head's CAS and the index write —
// and blame then goes on from `base` with the plain walk (one head at a time) until it meets an older
// chain. An index is written only after its head won its CAS and is a function of immutable heads, so
// concurrent landings, retries and crashes can leave an index missing or written twice, never wrong.
// Nothing here is a blob or a tree: gc (collect-garbage.ts) neither lists nor sweeps blame/, and the index
// names only head records, which gc never deletes. A missing or damaged index object (an old one that later
// heads' nodes name) makes blame walk from the start: slow, never wrong.
import { LRUCache } from 'lru-cache';
import { EMPTY_TREE, isHash, sha256Hex, type ObjectStore, type TreeEntry } from '../store/index.js';
import { sameContent } from './changes.js';

export interface IndexNode {
  /** the head that last changed this path (absent only at the root) */
  h?: string;
  /** child name -> node name ("<head>:<hash>") */
  c?: Record<string, string>;
  /** a directory: the head that made it (added, or a directory again): a path below without a node was last
   *  changed there. An added directory costs one node, however many files it holds. */
  a?: string;
}

export interface HeadIndex {
  /** the root node: "<head>:<node hash>", the node stored in that head's index */
  root: string;
  /** paths without a node are unchanged since this head; null: the index covers all history */
  base: string | null;
  /** the nodes this head's landing wrote, by hash (the rest are named in older heads' indexes) */
  nodes: Record<string, IndexNode>;
}

// head indexes read or written, per backend (one cached is one known to be stored there), keyed by key
const caches = new WeakMap<object, LRUCache<string, HeadIndex>>();
function cacheOf(store: ObjectStore): LRUCache<string, HeadIndex> {
  let c = caches.get(store.backend);
  if (!c) {
    c = new LRUCache<string, HeadIndex>({ maxSize: 200_000, sizeCalculation: (i) => Object.keys(i.nodes).length + 1 });
    caches.set(store.backend, c);
  }
  return c;
}
// not under a "heads/" segment: keys.ts CONTENT_KEY takes <...>/heads/<h[0:2]>/<h> for a content-addressed
// head record (checked against the SHA-256 of its bytes), which an index object is not
const headKey = (head: string) => `blame/${head.slice(0, 2)}/${head}`;
const hashOf = (n: IndexNode) => sha256Hex(Buffer.from(JSON.stringify(n), 'utf8'));

/** The index of a head, or null when it has none (or an unreadable one). */
export async function getHeadIndex(store: ObjectStore, head: string): Promise<HeadIndex | null> {
  const cache = cacheOf(store);
  const hit = cache.get(store.key(headKey(head)));
  if (hit) return hit;
  const idx = await store.getJson<HeadIndex>(headKey(head)).catch(() => null);
  const ok =
    idx && typeof idx.root === 'string' && (idx.base === null || isHash(idx.base)) && typeof idx.nodes === 'object' && idx.nodes !== null;
  if (!ok) return null;
  cache.set(store.key(headKey(head)), idx);
  return idx;
}

/** A node by reference, checked against its hash; throws when it is missing or damaged (blame then walks). */
async function readNode(store: ObjectStore, ref: string): Promise<IndexNode> {
  const [head, hash] = ref.split(':');
  const idx = isHash(head ?? '') ? await getHeadIndex(store, head) : null;
  const n = idx?.nodes[hash ?? ''];
  if (!n || hashOf(n) !== hash) throw new Error(`blame index node ${ref} is missing or damaged`);
  return n;
}

/** The nodes one head's index writes, stored together with it (one object per landing). */
export interface Writer {
  head: string;
  nodes: Record<string, IndexNode>;
}

/** Adds n (canonical) to the head's nodes; returns its name. */
export function writeNode(w: Writer, n: IndexNode): string {
  const c =
    n.c && Object.keys(n.c).length ? Object.fromEntries(Object.entries(n.c).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : undefined;
  const canonical: IndexNode = {};
  if (n.h) canonical.h = n.h;
  if (c) canonical.c = c;
  if (n.a) canonical.a = n.a;
  const hash = hashOf(canonical);
  w.nodes[hash] = canonical;
  return `${w.head}:${hash}`;
}

/**
 * The head that last changed `parts` according to a head's index, or null when the path has no node
 * (unchanged since the index's base). Throws when a node is missing or damaged.
 */
export async function lookupIndex(store: ObjectStore, idx: HeadIndex, parts: readonly string[]): Promise<string | null> {
  let n = await readNode(store, idx.root);
  let made = n.a ?? null; // the nearest directory above made whole
  for (const name of parts) {
    const child = n.c?.[name];
    if (!child) return made;
    n = await readNode(store, child);
    made = n.a ?? made;
  }
  return n.h ?? null;
}

/** Node `n` (the path's node in the parent's index) updated for the change of directory a -> b at head. */
async function update(store: ObjectStore, w: Writer, n: IndexNode, a: string, b: string): Promise<IndexNode> {
  const head = w.head;
  if (a === b) return n;
  const changes = (await store.diffDir(a, b)).filter((ch) => !sameContent(ch.before, ch.after));
  if (!changes.length) return n;
  const c: Record<string, string> = { ...n.c };
  await Promise.all(
    changes.map(async (ch) => {
      const after = ch.after;
      let child: IndexNode = { h: head };
      if (after?.kind === 'dir') {
        // a directory that was one already keeps its children's nodes (and where it was made); a new one is
        // made here, everything in it with it
        if (ch.before?.kind === 'dir') {
          const old = c[ch.name] ? await readNode(store, c[ch.name]) : null;
          child = await update(store, w, { h: head, c: old?.c, a: old?.a }, dirHash(ch.before), dirHash(after));
        } else child = { h: head, a: head };
      }
      // deleted (or now a file): the old children are dropped; a path added again later gets a node then
      c[ch.name] = writeNode(w, child);
    }),
  );
  return { h: n.h, c, a: n.a };
}

const dirHash = (e: TreeEntry) => e.hash ?? EMPTY_TREE;

/** Stores a head's index (made by indexHead, or by a bulk writer such as import-git from what it knows). */
export async function putHeadIndex(store: ObjectStore, head: string, idx: HeadIndex): Promise<void> {
  await store.putJson(headKey(head), idx);
  cacheOf(store).set(store.key(headKey(head)), idx);
}

/**
 * Writes the index of `head` (already the project's head or an ancestor of it) unless it has one. A parent
 * without an index gets one first, up to `catchUp` heads back; further back, a new chain starts.
 * Resolves true when the head has an index.
 */
export async function indexHead(store: ObjectStore, head: string, catchUp = 64): Promise<boolean> {
  // the heads back to the nearest indexed one (or catchUp of them), then forward, oldest first
  const todo: string[] = [];
  let h: string | null = head;
  let prev: HeadIndex | null = null;
  while (h && todo.length <= catchUp) {
    prev = await getHeadIndex(store, h);
    if (prev) break;
    todo.push(h);
    h = (await store.getHeadRecord(h)).parent;
  }
  if (!todo.length) return true;
  // without an indexed ancestor, a new chain starts at the oldest head in todo
  for (let i = todo.length - 1; i >= 0; i--) {
    const rec = await store.getHeadRecord(todo[i]);
    const w: Writer = { head: todo[i], nodes: {} };
    let root: string, base: string | null;
    if (prev) {
      const parentTree = (await store.getHeadRecord(rec.parent!)).tree;
      const node = await readNode(store, prev.root); // throws when damaged: no index is better than a wrong one
      root = writeNode(w, await update(store, w, node, parentTree, rec.tree));
      base = prev.base;
    } else if (rec.parent === null) {
      root = writeNode(w, { a: todo[i] }); // the first head made everything
      base = null;
    } else {
      const parentTree = (await store.getHeadRecord(rec.parent)).tree;
      root = writeNode(w, await update(store, w, {}, parentTree, rec.tree));
      base = rec.parent;
    }
    const idx: HeadIndex = { root, base, nodes: w.nodes };
    await putHeadIndex(store, todo[i], idx);
    prev = idx;
  }
  return true;
}
