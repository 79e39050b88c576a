// Property-based tests (fast-check) of the tree codec (src/store/tree-codec.ts) and of the
// three-way merge (src/session/merge.ts) against a model of files as path -> content.
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EMPTY_TREE, LocalBackend, ObjectStore, type TreeEntry } from '../../src/store/index.js';
import { compareNames, decodeNode, encodeEntry, encodeNode, normalizeEntry } from '../../src/store/tree-codec.js';
import { mergeTrees } from '../../src/session/merge.js';

const dir = mkdtempSync(join(tmpdir(), 'mic-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = new ObjectStore(new LocalBackend(join(dir, 'objects')), 'test/property');

const validName = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 20 })
  .filter((n) => !n.includes('/') && !n.includes('\0') && n !== '.' && n !== '..' && Buffer.byteLength(n) <= 255);
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => Buffer.from(u).toString('hex'));
const entryOf = (name: fc.Arbitrary<string>): fc.Arbitrary<TreeEntry> =>
  fc.record(
    {
      name,
      kind: fc.constantFrom('file', 'dir', 'symlink', 'fifo', 'socket') as fc.Arbitrary<TreeEntry['kind']>,
      mode: fc.nat({ max: 0o7777 }),
      ino: fc.nat({ max: 2 ** 40 }),
      size: fc.nat({ max: 2 ** 45 }),
      mtime: fc.tuple(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.nat({ max: 999_999_999 })),
      hash: fc.option(hex64, { nil: undefined }),
      target: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
      dirs: fc.option(fc.nat({ max: 1000 }), { nil: undefined }),
    },
    { requiredKeys: ['name', 'kind', 'mode', 'ino', 'size', 'mtime'] },
  );

describe('tree codec properties', () => {
  it('a leaf of valid entries round-trips through its canonical JSON', () => {
    fc.assert(
      fc.property(fc.uniqueArray(entryOf(validName), { selector: (e) => e.name, maxLength: 20 }), (raw) => {
        const entries = raw.map(normalizeEntry).sort((a, b) => compareNames(a.name, b.name));
        const bytes = encodeNode({ type: 'leaf', entries });
        const back = decodeNode(bytes);
        expect(back).toEqual({ type: 'leaf', entries });
        expect(encodeNode(back).equals(bytes)).toBe(true);
        for (const e of entries) expect(encodeEntry(normalizeEntry(JSON.parse(encodeEntry(e)) as TreeEntry))).toBe(encodeEntry(e));
      }),
      { numRuns: 300 },
    );
  });

  it('names order by their UTF-8 bytes', () => {
    fc.assert(
      fc.property(validName, validName, (a, b) => {
        expect(Math.sign(compareNames(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary bytes or JSON either fail to decode or decode to a node that re-encodes stably', () => {
    const json = fc.oneof(
      fc.json(),
      fc.record({ v: fc.constant(1), leaf: fc.array(fc.anything(), { maxLength: 3 }) }).map((o) => JSON.stringify(o)),
      fc
        .record({ v: fc.constant(1), depth: fc.integer(), count: fc.integer(), buckets: fc.array(fc.option(hex64), { maxLength: 17 }) })
        .map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(json, (s) => {
        let node;
        try {
          node = decodeNode(Buffer.from(s));
        } catch {
          return;
        }
        expect(decodeNode(encodeNode(node))).toEqual(node);
      }),
      { numRuns: 1000 },
    );
  });

  it('a directory is the same tree whatever its edit history (across leaf/split sizes)', async () => {
    const names = fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 0, maxLength: 700 });
    await fc.assert(
      fc.asyncProperty(names, fc.nat(), async (all, cut) => {
        const entry = (name: string, i: number): TreeEntry => ({ name, kind: 'file', mode: 0o644, ino: i + 2, size: i, mtime: [i, 0] });
        const first = all.slice(0, cut % (all.length + 1));
        const h0 = await store.writeDir(first.map(entry));
        // remove every other initial name, add the rest
        const changes = new Map<string, TreeEntry | null>();
        first.forEach((n, i) => {
          if (i % 2 === 0) changes.set(n, null);
        });
        all.slice(first.length).forEach((n, i) => changes.set(n, entry(n, first.length + i)));
        const h1 = await store.updateDir(h0, changes);
        const final = all.filter((n, i) => !(i < first.length && i % 2 === 0));
        const direct = await store.writeDir(final.map((n) => entry(n, all.indexOf(n))));
        expect(h1).toBe(direct);
        const listed = (await store.listDir(h1)).map((e) => e.name);
        expect(listed).toEqual([...final].sort(compareNames));
      }),
      { numRuns: 25 },
    );
  });
});

// ---- three-way merge against a model ----

type Files = Map<string, string>; // path (t0, sub/s0, ...) -> content
const PATHS = ['t0', 't1', 't2', 't3', 'sub/s0', 'sub/s1', 'sub/s2', 'sub/s3'];

interface Versioned {
  files: Files;
  inos: Map<string, number>;
  nextIno: number;
}

async function build(v: Versioned): Promise<{ tree: string; nextIno: number }> {
  const entry = async (name: string, path: string): Promise<TreeEntry> => {
    const c = v.files.get(path)!;
    return {
      name,
      kind: 'file',
      mode: 0o644,
      ino: v.inos.get(path)!,
      size: c.length,
      mtime: [1, 0],
      hash: await store.putBlob(Buffer.from(c)),
    };
  };
  const subEntries = await Promise.all(PATHS.filter((p) => p.startsWith('sub/') && v.files.has(p)).map((p) => entry(p.slice(4), p)));
  const sub = await store.writeDir(subEntries);
  const top = await Promise.all(PATHS.filter((p) => !p.includes('/') && v.files.has(p)).map((p) => entry(p, p)));
  top.push({ name: 'sub', kind: 'dir', mode: 0o755, ino: 2, size: 0, mtime: [1, 0], hash: sub, dirs: 0 });
  return { tree: await store.writeDir(top), nextIno: v.nextIno };
}

async function flatten(tree: string, prefix = '', out: Files = new Map(), inos: number[] = []): Promise<{ files: Files; inos: number[] }> {
  for (const e of await store.listDir(tree)) {
    inos.push(e.ino);
    if (e.kind === 'dir') await flatten(e.hash ?? EMPTY_TREE, `${prefix}${e.name}/`, out, inos);
    else out.set(prefix + e.name, (await store.getBlob(e.hash!)).toString());
  }
  return { files: out, inos };
}

/** An edit of one path: new content, or null to delete. */
const edits = fc.dictionary(fc.constantFrom(...PATHS), fc.option(fc.constantFrom('x', 'y', 'zz', 'long content'), { nil: null }), {
  maxKeys: 5,
});
const baseFiles = fc
  .subarray(PATHS)
  .chain((ps) => fc.tuple(...ps.map(() => fc.constantFrom('a', 'b', 'c'))).map((cs) => new Map(ps.map((p, i) => [p, cs[i]]))));

function apply(base: Versioned, e: Record<string, string | null>): Versioned {
  const files = new Map(base.files);
  const inos = new Map(base.inos);
  let next = base.nextIno;
  for (const [p, c] of Object.entries(e)) {
    if (c === null) {
      files.delete(p);
      inos.delete(p);
      continue;
    }
    if (!files.has(p)) inos.set(p, next++);
    files.set(p, c);
  }
  return { files, inos, nextIno: next };
}

describe('three-way merge properties', () => {
  it("the result is the base with both sides' changes; conflicts are exactly the paths changed differently", async () => {
    await fc.assert(
      fc.asyncProperty(baseFiles, edits, edits, async (files, se, he) => {
        const inos = new Map<string, number>();
        let next = 3;
        for (const p of files.keys()) inos.set(p, next++);
        const B: Versioned = { files, inos, nextIno: next };
        const S = apply(B, se);
        const H = apply(B, he);
        const [b, s, h] = await Promise.all([build(B), build(S), build(H)]);
        const m = await mergeTrees(store, b, s, h);
        const changedS = PATHS.filter((p) => S.files.get(p) !== B.files.get(p));
        const changedH = new Set(PATHS.filter((p) => H.files.get(p) !== B.files.get(p)));
        const expectConflicts = changedS.filter((p) => changedH.has(p) && S.files.get(p) !== H.files.get(p));
        expect(m.conflicts.map((c) => c.path)).toEqual(expectConflicts.sort());
        if (expectConflicts.length > 0) return;
        const want = new Map(H.files);
        for (const p of changedS) {
          const c = S.files.get(p);
          if (c === undefined) want.delete(p);
          else want.set(p, c);
        }
        const got = await flatten(m.tree);
        expect(Object.fromEntries(got.files)).toEqual(Object.fromEntries(want));
        // file ids stay unique, and below the next free one
        expect(new Set(got.inos).size).toBe(got.inos.length);
        for (const i of got.inos) expect(i).toBeLessThan(m.nextIno);
      }),
      { numRuns: 150 },
    );
  });

  it('merging with an unchanged side gives the other side', async () => {
    await fc.assert(
      fc.asyncProperty(baseFiles, edits, async (files, e) => {
        const inos = new Map<string, number>();
        let next = 3;
        for (const p of files.keys()) inos.set(p, next++);
        const B: Versioned = { files, inos, nextIno: next };
        const [b, x] = await Promise.all([build(B), build(apply(B, e))]);
        expect(await mergeTrees(store, b, x, b)).toEqual({ tree: x.tree, nextIno: x.nextIno, conflicts: [] });
        expect(await mergeTrees(store, b, b, x)).toEqual({ tree: x.tree, nextIno: x.nextIno, conflicts: [] });
      }),
      { numRuns: 50 },
    );
  });
});
