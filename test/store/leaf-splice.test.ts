// Leaf splicing (src/store/leaf-splice.ts): a leaf rewritten for a few names gives the same entries and the
// same bytes (so the same hash) as the leaf encoded afresh, whatever the names (non-ASCII, surrogate pairs
// that sort differently in UTF-16 and UTF-8), the changes (insert, replace, delete, no-op) and the sizes
// (empty, across LEAF_MAX, where update splits or collapses).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ObjectStore } from '../../src/store/object-store.js';
import { compareNames, encodeNode, normalizeEntry, type LeafNode } from '../../src/store/tree-codec.js';
import { spliceLeaf } from '../../src/store/leaf-splice.js';
import type { TreeEntry } from '../../src/store/tree-entry.js';
import { CountingBackend, tempDir } from './helpers.js';
import { sha256Hex } from '../../src/store/codec.js';

const NAMES = ['a', 'b', 'Z', 'é', 'ä', '\u{1F600}', '\uFF5E', 'x y', '"q"', 'back\\slash', 'ümlaut', '\u{10000}z'];
const nameArb = fc.tuple(fc.constantFrom(...NAMES), fc.integer({ min: 0, max: 40 })).map(([n, i]) => `${n}${i}`);
const entryArb = (name: string, v: number): TreeEntry =>
  normalizeEntry(
    v % 3 === 0
      ? { name, kind: 'symlink', mode: 0o777, ino: v + 2, size: 3, mtime: [v, 7], target: `t"${v}` }
      : { name, kind: 'file', mode: v % 2 ? 0o755 : 0o644, ino: v + 2, size: v, mtime: [1_600_000_000 + v, 0], hash: sha256Hex(`${v}`) },
  );
const leafOf = (entries: TreeEntry[]): LeafNode => ({
  type: 'leaf',
  entries: Object.freeze([...entries].sort((x, y) => compareNames(x.name, y.name))),
});

describe('leaf splice', () => {
  it('gives the entries and the bytes of the leaf encoded afresh (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(nameArb, { maxLength: 60 }),
        fc.array(fc.tuple(nameArb, fc.integer({ min: -1, max: 50 })), { maxLength: 12 }),
        fc.integer({ min: 1, max: 3 }),
        (names, edits, rounds) => {
          let node = leafOf(names.map((n, i) => entryArb(n, i)));
          encodeNode(node); // its encoding is known: the splice copies runs of it
          for (let r = 0; r < rounds; r++) {
            const byName = new Map(node.entries.map((e) => [e.name, e]));
            const changes = new Map<string, TreeEntry | null>();
            for (const [n, v] of edits) changes.set(n, v < 0 ? null : v === 50 && byName.has(n) ? byName.get(n)! : entryArb(n, v + r));
            for (const [n, e] of changes)
              if (e === null) byName.delete(n);
              else byName.set(n, e);
            const next = spliceLeaf(
              node,
              [...changes].map(([name, entry]) => ({ name, entry })),
            );
            const fresh = leafOf([...byName.values()]);
            if (next === null) {
              expect(node.entries).toEqual(fresh.entries);
              continue;
            }
            expect(next.entries).toEqual(fresh.entries);
            const bytes = encodeNode(next); // the spliced bytes, registered by spliceLeaf
            expect(bytes.toString('utf8')).toBe(encodeNode({ type: 'leaf', entries: [...fresh.entries] }).toString('utf8'));
            node = next;
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('updateDir by splicing equals writeDir of the final set, across splits and collapses (property)', async () => {
    const backend = new CountingBackend(await tempDir(), { fsync: false });
    const store = new ObjectStore(backend, 'acme/splice');
    const file = (i: number, v: number) => entryArb(`f${i}`, v);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 700 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 800 }), fc.integer({ min: -1, max: 5 })), { minLength: 1, maxLength: 300 }),
        async (n, edits) => {
          const set = new Map<string, TreeEntry>();
          for (let i = 0; i < n; i++) set.set(`f${i}`, file(i, 0));
          let h = await store.writeDir([...set.values()]);
          for (let k = 0; k < edits.length; k += 60) {
            const changes = new Map<string, TreeEntry | null>();
            for (const [i, v] of edits.slice(k, k + 60)) changes.set(`f${i}`, v < 0 ? null : file(i, v));
            for (const [name, e] of changes)
              if (e === null) set.delete(name);
              else set.set(name, e);
            h = await store.updateDir(h, changes);
            expect(h).toBe(await store.writeDir([...set.values()]));
          }
          for (const [name, e] of set) expect(await store.lookupDir(h, name)).toEqual(e);
          expect(await store.lookupDir(h, 'f9999')).toBeNull();
        },
      ),
      { numRuns: 40 },
    );
  });
});
