// Directory trees over content-addressed nodes (format in tree-codec.ts).
// writeDir builds the canonical trie; updateDir rewrites only the nodes on the paths of changed names
// and yields the same hash writeDir would; lookupDir and diffDir read only the nodes they need.
import { LRUCache } from 'lru-cache';
import type { TreeEntry } from './tree-entry.js';
import {
  EMPTY_LEAF,
  EMPTY_TREE,
  FANOUT,
  LEAF_MAX,
  MAX_DEPTH,
  bucketAt,
  compareNames,
  sameEntry,
  nameDigest,
  normalizeEntry,
  type LeafNode,
  type TreeNode,
} from './tree-codec.js';
import { isSortedLeaf, lowerBound, spliceLeaf } from './leaf-splice.js';

/** Where nodes live: ObjectStore verifies, caches and uploads them. */
export interface TreeNodeIO {
  readNode(hash: string): Promise<TreeNode>;
  /** Stores the node (children must already be stored); returns its hash. */
  writeNode(node: TreeNode): Promise<string>;
}

export interface DirChange {
  name: string;
  before: TreeEntry | null;
  after: TreeEntry | null;
}

/** An entry with its name digest, computed only when a node has to be split. */
interface Item {
  entry: TreeEntry;
  digest?: Buffer;
}
interface Change {
  name: string;
  entry: TreeEntry | null;
  /** nameDigest(name), computed when a split node needs it */
  digest?: Buffer;
}
interface UpdateResult {
  hash: string | null;
  count: number;
  oldCount: number;
}

const digestOf = (it: Item): Buffer => (it.digest ??= nameDigest(it.entry.name));

export class TreeStore {
  /** Full listings by root hash, sized by entry count. */
  private readonly listings: LRUCache<string, readonly TreeEntry[]>;
  private readonly leafMaps = new WeakMap<LeafNode, Map<string, TreeEntry>>();
  /** Leaves known to be in canonical order (built here, or checked once): looked up by binary search and
   *  rewritten by splicing (leaf-splice.ts); false: a stored leaf out of order, handled as before. */
  private readonly sortedLeaves = new WeakMap<LeafNode, boolean>();

  constructor(
    private readonly io: TreeNodeIO,
    opts: { listCacheEntries?: number } = {},
  ) {
    this.listings = new LRUCache({ maxSize: opts.listCacheEntries ?? 200_000, sizeCalculation: (l) => l.length + 1 });
  }

  /** Stores a directory (entries in any order, names unique); returns its root hash. */
  async writeDir(entries: readonly TreeEntry[]): Promise<string> {
    const items: Item[] = entries.map((e) => ({ entry: normalizeEntry(e) }));
    const seen = new Set<string>();
    for (const it of items) {
      if (seen.has(it.entry.name)) throw new Error(`duplicate entry name ${JSON.stringify(it.entry.name)}`);
      seen.add(it.entry.name);
    }
    return (await this.build(items, 0))!;
  }

  /** Every entry, frozen; leaves in bucket order, names sorted within a leaf. Stable for a hash. */
  async listDir(hash: string): Promise<TreeEntry[]> {
    let list = this.listings.get(hash);
    if (!list) {
      list = Object.freeze(await this.collect(hash));
      this.listings.set(hash, list);
    }
    return list as TreeEntry[];
  }

  /** The entry for name, reading only the nodes on its path; null if absent or not a valid name. */
  async lookupDir(hash: string, name: string): Promise<TreeEntry | null> {
    let digest: Buffer | undefined;
    for (let h: string | null = hash; h !== null;) {
      const node = await this.io.readNode(h);
      if (node.type === 'leaf') return this.leafLookup(node, name);
      digest ??= nameDigest(name);
      h = node.buckets[bucketAt(digest, node.depth)] ?? null;
    }
    return null;
  }

  /** Applies changes (null deletes; entry.name must equal its key); returns the new root hash. */
  async updateDir(hash: string, changes: ReadonlyMap<string, TreeEntry | null>): Promise<string> {
    const list: Change[] = [];
    for (const [name, entry] of changes) {
      if (entry !== null && entry.name !== name)
        throw new Error(`change key ${JSON.stringify(name)} != entry name ${JSON.stringify(entry.name)}`);
      list.push({ name, entry: entry && normalizeEntry(entry) });
    }
    if (list.length === 0) return hash;
    const res = await this.update(hash, 0, list);
    return res.hash ?? (await this.io.writeNode(EMPTY_LEAF));
  }

  /** Differences between two versions of one directory, sorted by name. Skips equal subtrees. */
  async diffDir(a: string, b: string): Promise<DirChange[]> {
    const out: DirChange[] = [];
    await this.diffNodes(a, b, out);
    return out.sort((x, y) => compareNames(x.name, y.name));
  }

  private async readNode(hash: string | null): Promise<TreeNode> {
    return hash === null ? EMPTY_LEAF : this.io.readNode(hash);
  }

  private isSorted(node: LeafNode): boolean {
    let known = this.sortedLeaves.get(node);
    if (known === undefined) this.sortedLeaves.set(node, (known = isSortedLeaf(node.entries)));
    return known;
  }

  private leafLookup(node: LeafNode, name: string): TreeEntry | null {
    if (node.entries.length <= 16) return node.entries.find((e) => e.name === name) ?? null;
    if (this.isSorted(node)) {
      const e = node.entries[lowerBound(node.entries, name)];
      return e !== undefined && e.name === name ? e : null;
    }
    let map = this.leafMaps.get(node);
    if (!map) {
      map = new Map(node.entries.map((e) => [e.name, e]));
      this.leafMaps.set(node, map);
    }
    return map.get(name) ?? null;
  }

  /** The canonical node for items at depth; null for an empty non-root bucket. */
  /** byName: the items by name, when the caller has that map (it becomes the leaf's leafLookup map). */
  private async build(items: Item[], depth: number, byName?: Map<string, TreeEntry>): Promise<string | null> {
    if (items.length === 0 && depth > 0) return null;
    if (items.length <= LEAF_MAX || depth >= MAX_DEPTH) {
      const entries = items.map((it) => it.entry).sort((x, y) => compareNames(x.name, y.name));
      const node: LeafNode = { type: 'leaf', entries: Object.freeze(entries) };
      this.sortedLeaves.set(node, true);
      if (byName && entries.length > 16) this.leafMaps.set(node, byName);
      return this.io.writeNode(node);
    }
    const groups: Item[][] = Array.from({ length: FANOUT }, () => []);
    for (const it of items) groups[bucketAt(digestOf(it), depth)]!.push(it);
    const buckets = await Promise.all(groups.map((g) => this.build(g, depth + 1)));
    return this.io.writeNode({ type: 'split', depth, count: items.length, buckets: Object.freeze(buckets) });
  }

  private async update(hash: string | null, depth: number, changes: Change[]): Promise<UpdateResult> {
    const node = await this.readNode(hash);
    if (node.type === 'leaf') {
      const oldCount = node.entries.length;
      if (this.isSorted(node)) {
        const next = spliceLeaf(node, changes);
        if (next === null) return { hash, count: oldCount, oldCount };
        const n = next.entries.length;
        if (n === 0 && depth > 0) return { hash: null, count: 0, oldCount };
        if (n > LEAF_MAX && depth < MAX_DEPTH) {
          return {
            hash: await this.build(
              next.entries.map((entry) => ({ entry })),
              depth,
            ),
            count: n,
            oldCount,
          };
        }
        this.sortedLeaves.set(next, true);
        return { hash: await this.io.writeNode(next), count: n, oldCount };
      }
      const known = this.leafMaps.get(node); // a copy of the lookup map is cheaper than building one
      const byName = known ? new Map(known) : new Map(node.entries.map((e) => [e.name, e]));
      let changed = false;
      for (const c of changes) {
        const cur = byName.get(c.name);
        if (c.entry === null) {
          if (cur) changed = byName.delete(c.name);
        } else if (!cur || !sameEntry(cur, c.entry)) {
          byName.set(c.name, c.entry);
          changed = true;
        }
      }
      if (!changed) return { hash, count: oldCount, oldCount };
      const items: Item[] = [...byName.values()].map((entry) => ({ entry }));
      const h = await this.build(items, depth, byName);
      return { hash: h, count: items.length, oldCount };
    }

    const groups = new Map<number, Change[]>();
    for (const c of changes) {
      const i = bucketAt((c.digest ??= nameDigest(c.name)), depth);
      const g = groups.get(i);
      if (g) g.push(c);
      else groups.set(i, [c]);
    }
    const buckets = [...node.buckets];
    let count = node.count;
    let changed = false;
    await Promise.all(
      [...groups].map(async ([i, group]) => {
        const r = await this.update(node.buckets[i] ?? null, depth + 1, group);
        count += r.count - r.oldCount;
        if (r.hash !== buckets[i]) changed = true;
        buckets[i] = r.hash;
      }),
    );
    if (!changed) return { hash, count: node.count, oldCount: node.count };
    if (count > LEAF_MAX) {
      const h = await this.io.writeNode({ type: 'split', depth, count, buckets: Object.freeze(buckets) });
      return { hash: h, count, oldCount: node.count };
    }
    // Shrunk to leaf size: collapse into the canonical leaf.
    const parts = await Promise.all(buckets.map((b) => (b === null ? [] : this.collect(b))));
    const items: Item[] = parts.flat().map((entry) => ({ entry }));
    return { hash: await this.build(items, depth), count: items.length, oldCount: node.count };
  }

  /** All entries under a node, in bucket order. */
  private async collect(hash: string): Promise<TreeEntry[]> {
    const cached = this.listings.get(hash);
    if (cached) return [...cached];
    const node = await this.io.readNode(hash);
    if (node.type === 'leaf') return [...node.entries];
    const parts = await Promise.all(node.buckets.map((b) => (b === null ? [] : this.collect(b))));
    return parts.flat();
  }

  private async diffNodes(a: string | null, b: string | null, out: DirChange[]): Promise<void> {
    if (a === b) return;
    const [na, nb] = await Promise.all([this.readNode(a), this.readNode(b)]);
    if (na.type === 'split' && nb.type === 'split') {
      await Promise.all(na.buckets.map((ca, i) => this.diffNodes(ca, nb.buckets[i] ?? null, out)));
      return;
    }
    const [ea, eb] = await Promise.all([a === null ? [] : this.collect(a), b === null ? [] : this.collect(b)]);
    const before = new Map(ea.map((e) => [e.name, e]));
    for (const e of eb) {
      const old = before.get(e.name);
      if (!old) out.push({ name: e.name, before: null, after: e });
      else {
        before.delete(e.name);
        if (!sameEntry(old, e)) out.push({ name: e.name, before: old, after: e });
      }
    }
    for (const old of before.values()) out.push({ name: old.name, before: old, after: null });
  }
}

export { EMPTY_TREE };
