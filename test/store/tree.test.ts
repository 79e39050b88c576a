import { beforeAll, describe, expect, it } from 'vitest';
import { ObjectStore } from '../../src/store/object-store.js';
import { InvalidNameError } from '../../src/store/errors.js';
import { decodeStored } from '../../src/store/codec.js';
import { EMPTY_TREE, LEAF_MAX, bucketAt, compareNames, decodeNode, nameDigest, type TreeNode } from '../../src/store/tree-codec.js';
import type { TreeEntry } from '../../src/store/tree-entry.js';
import { CountingBackend, fileEntry, shuffled, tempDir } from './helpers.js';

const PROJECT = 'acme/tree';

async function setup() {
  const root = await tempDir();
  const backend = new CountingBackend(root, { fsync: false });
  return { root, backend, store: new ObjectStore(backend, PROJECT) };
}

/** A store with empty caches over the same directory, counting its backend calls. */
function freshStore(root: string) {
  const backend = new CountingBackend(root, { fsync: false });
  return { backend, store: new ObjectStore(backend, PROJECT) };
}

/** Reads a node straight from the backend, bypassing ObjectStore. */
async function rawNode(backend: CountingBackend, hash: string): Promise<TreeNode> {
  const bytes = await backend.get(`projects/${PROJECT}/trees/${hash.slice(0, 2)}/${hash}`);
  return decodeNode(decodeStored(bytes!));
}

/** Number of nodes from the root to the leaf holding name. */
async function pathLength(backend: CountingBackend, root: string, name: string): Promise<number> {
  let n = 1;
  for (let node = await rawNode(backend, root); node.type === 'split'; n++) {
    node = await rawNode(backend, node.buckets[bucketAt(nameDigest(name), node.depth)]!);
  }
  return n;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const byName = (list: readonly TreeEntry[]) => [...list].sort((a, b) => compareNames(a.name, b.name));

describe('trees: canonical form', () => {
  it('empty directory', async () => {
    const { store } = await setup();
    expect(await store.writeDir([])).toBe(EMPTY_TREE);
    expect(await store.listDir(EMPTY_TREE)).toEqual([]);
    expect(await store.lookupDir(EMPTY_TREE, 'x')).toBeNull();
    // EMPTY_TREE is readable even in a store where it was never written.
    expect(await freshStore((await setup()).root).store.listDir(EMPTY_TREE)).toEqual([]);
  });

  it('hash is independent of insertion order', async () => {
    const { store } = await setup();
    const entries = range(0, 2000).map((i) => fileEntry(i));
    const a = await store.writeDir(entries);
    const b = await store.writeDir(shuffled(entries, 7));
    const c = await store.writeDir(entries.slice(0, 1999));
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('5000 entries: writeDir equals successive updateDir batches with deletes and rewrites', async () => {
    const { backend, store } = await setup();
    const final = range(0, 5000).map((i) => fileEntry(i, i % 7 === 0 ? 1 : 0));
    const direct = await store.writeDir(shuffled(final, 1));
    expect((await rawNode(backend, direct)).type).toBe('split');

    // History: add 0..5999 (variant 0) in random batches, delete 5000..5999, then rewrite every 7th.
    let h = EMPTY_TREE;
    const order = shuffled(range(0, 6000), 2);
    for (let i = 0; i < order.length; i += 400) {
      h = await store.updateDir(h, new Map(order.slice(i, i + 400).map((n) => [fileEntry(n).name, fileEntry(n)])));
    }
    h = await store.updateDir(h, new Map(range(5000, 6000).map((n) => [fileEntry(n).name, null])));
    h = await store.updateDir(
      h,
      new Map(
        range(0, 5000)
          .filter((n) => n % 7 === 0)
          .map((n) => [fileEntry(n).name, fileEntry(n, 1)]),
      ),
    );
    expect(h).toBe(direct);
    expect(byName(await store.listDir(h))).toEqual(byName(final));
  });

  it('a split directory collapses back to the canonical leaf when it shrinks', async () => {
    const { backend, store } = await setup();
    const big = await store.writeDir(range(0, 3000).map((i) => fileEntry(i)));
    const keep = range(0, LEAF_MAX);
    const shrunk = await store.updateDir(big, new Map(range(LEAF_MAX, 3000).map((n) => [fileEntry(n).name, null])));
    expect(shrunk).toBe(await store.writeDir(keep.map((i) => fileEntry(i))));
    expect((await rawNode(backend, shrunk)).type).toBe('leaf');
    // ... and to the empty tree.
    expect(await store.updateDir(shrunk, new Map(keep.map((n) => [fileEntry(n).name, null])))).toBe(EMPTY_TREE);
    // One over the limit splits, exactly like writeDir.
    const grown = await store.updateDir(shrunk, new Map([[fileEntry(9999).name, fileEntry(9999)]]));
    expect((await rawNode(backend, grown)).type).toBe('split');
    expect(grown).toBe(await store.writeDir([...keep, 9999].map((i) => fileEntry(i))));
  });

  it('no-op updates keep the hash and write nothing', async () => {
    const { backend, store } = await setup();
    const h = await store.writeDir(range(0, 1000).map((i) => fileEntry(i)));
    backend.reset();
    const same = await store.updateDir(
      h,
      new Map<string, TreeEntry | null>([
        [fileEntry(5).name, fileEntry(5)],
        ['absent', null],
      ]),
    );
    expect(same).toBe(h);
    expect(backend.puts).toEqual([]);
  });
});

describe('trees: large directory (20,000 entries)', () => {
  const entries = range(0, 20_000).map((i) => fileEntry(i));
  let ctx: Awaited<ReturnType<typeof setup>>;
  let base: string;
  beforeAll(async () => {
    ctx = await setup();
    base = await ctx.store.writeDir(shuffled(entries, 3));
  });

  it('one update writes only the nodes on one path; lookup and diff read O(depth) nodes', async () => {
    const { root, backend, store } = ctx;
    const rootNode = await rawNode(backend, base);
    expect(rootNode.type).toBe('split');
    expect(rootNode.type === 'split' && rootNode.count).toBe(20_000);
    expect(backend.puts.filter((k) => k.includes('/trees/')).length).toBeGreaterThan(100);

    const target = fileEntry(12_345, 1);
    const depth = await pathLength(backend, base, target.name);
    expect(depth).toBeGreaterThanOrEqual(2);
    backend.reset();
    const updated = await store.updateDir(base, new Map([[target.name, target]]));
    const treePuts = backend.puts.filter((k) => k.includes('/trees/'));
    expect(treePuts).toHaveLength(depth);
    // Same result as rebuilding the whole directory.
    expect(updated).toBe(await store.writeDir(entries.map((e, i) => (i === 12_345 ? target : e))));

    // Lookup from cold caches reads exactly the nodes on the path.
    const cold = freshStore(root);
    expect(await cold.store.lookupDir(updated, target.name)).toEqual(target);
    expect(cold.backend.gets).toHaveLength(depth);
    expect(await cold.store.lookupDir(updated, 'file-99999.txt')).toBeNull();
    expect(await cold.store.lookupDir(updated, '..')).toBeNull();
    for (const i of [0, 777, 19_999]) expect(await cold.store.lookupDir(updated, fileEntry(i).name)).toEqual(fileEntry(i));

    // diffDir from cold caches: three changes, a handful of node reads.
    const added = fileEntry(50_000);
    const modified = fileEntry(3, 2);
    const removed = fileEntry(4242);
    const other = await store.updateDir(
      updated,
      new Map<string, TreeEntry | null>([
        [added.name, added],
        [modified.name, modified],
        [removed.name, null],
      ]),
    );
    const cold2 = freshStore(root);
    const diff = await cold2.store.diffDir(updated, other);
    expect(diff).toEqual(
      [
        { name: modified.name, before: fileEntry(3), after: modified },
        { name: removed.name, before: removed, after: null },
        { name: added.name, before: null, after: added },
      ].sort((a, b) => compareNames(a.name, b.name)),
    );
    expect(cold2.backend.gets.length).toBeLessThanOrEqual(2 * 3 * depth);
    expect(await cold2.store.diffDir(other, other)).toEqual([]);
    const back = await cold2.store.diffDir(other, updated);
    expect(back.map((d) => [d.name, d.before === null, d.after === null])).toEqual(
      diff.map((d) => [d.name, d.after === null, d.before === null]),
    );
  });

  it('listDir returns every entry in an order that is stable for the hash', async () => {
    const first = (await ctx.store.listDir(base)).map((e) => e.name);
    const cold = freshStore(ctx.root);
    const second = (await cold.store.listDir(base)).map((e) => e.name);
    expect(first).toHaveLength(20_000);
    expect(new Set(first).size).toBe(20_000);
    expect(second).toEqual(first);
    const listed = await cold.store.listDir(base);
    expect(Object.isFrozen(listed) && Object.isFrozen(listed[0])).toBe(true);
    // Cached listing: no further reads.
    cold.backend.reset();
    await cold.store.listDir(base);
    expect(cold.backend.gets).toHaveLength(0);
  });
});

describe('trees: leaf/split boundary', () => {
  it('diffDir across a leaf/split boundary', async () => {
    const { store } = await setup();
    const small = await store.writeDir(range(0, 500).map((i) => fileEntry(i)));
    const large = await store.writeDir(range(0, 600).map((i) => fileEntry(i)));
    const diff = await store.diffDir(small, large);
    expect(diff.map((d) => d.name).sort()).toEqual(
      range(500, 600)
        .map((i) => fileEntry(i).name)
        .sort(),
    );
    expect(diff.every((d) => d.before === null && d.after !== null)).toBe(true);
  });
});

describe('trees: validation and entry fields', () => {
  it('rejects invalid names and duplicates', async () => {
    const { store } = await setup();
    const reasons: [string, string][] = [
      ['', 'empty'],
      ['a/b', 'slash'],
      ['a\0b', 'nul'],
      ['.', 'dot'],
      ['..', 'dot'],
      ['x'.repeat(256), 'too-long'],
      ['é'.repeat(128), 'too-long'],
      ['\ud800', 'not-utf8'],
    ];
    for (const [name, reason] of reasons) {
      const err = await store.writeDir([{ ...fileEntry(1), name }]).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(InvalidNameError);
      expect((err as InvalidNameError).reason).toBe(reason);
    }
    expect(await store.writeDir([{ ...fileEntry(1), name: 'x'.repeat(255) }])).toMatch(/^[0-9a-f]{64}$/);
    await expect(store.writeDir([fileEntry(1), fileEntry(1)])).rejects.toThrow(/duplicate/);
    await expect(store.updateDir(EMPTY_TREE, new Map([['other', fileEntry(1)]]))).rejects.toThrow(/!= entry name/);
  });

  it('keeps every entry kind and optional field, in byte order of names', async () => {
    const { root, store } = await setup();
    const entries: TreeEntry[] = [
      { name: 'sub', kind: 'dir', mode: 0o755, ino: 3, size: 0, mtime: [1, 2], hash: EMPTY_TREE, dirs: 0 },
      { name: 'link', kind: 'symlink', mode: 0o777, ino: 4, size: 6, mtime: [3, 4], target: '../x y' },
      { name: 'pipe', kind: 'fifo', mode: 0o600, ino: 5, size: 0, mtime: [-5, 999_999_999] },
      { name: 'sock', kind: 'socket', mode: 0o600, ino: 6, size: 0, mtime: [0, 0] },
      { name: '\u{1F600}', kind: 'file', mode: 0o4755, ino: 7, size: 1, mtime: [0, 1], hash: EMPTY_TREE },
      { name: '\uffff', kind: 'file', mode: 0o644, ino: 8, size: 1, mtime: [0, 1], hash: EMPTY_TREE },
    ];
    const h = await store.writeDir(entries);
    const listed = await freshStore(root).store.listDir(h);
    expect(listed.map((e) => e.name)).toEqual(['link', 'pipe', 'sock', 'sub', '\uffff', '\u{1F600}']);
    expect(byName(listed)).toEqual(byName(entries));
    await expect(store.writeDir([{ ...fileEntry(1), mode: 0o10000 }])).rejects.toThrow(/mode/);
    await expect(store.writeDir([{ ...fileEntry(1), hash: 'xyz' }])).rejects.toThrow(/hash/);
  });
});
