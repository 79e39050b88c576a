// Three-way merge at tree level: disjoint changes, identical changes, every conflict kind, inode renumbering.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { LocalBackend, ObjectStore, EMPTY_TREE, type TreeEntry } from '../../src/store/index.js';
import { mergeTrees } from '../../src/session/merge.js';
import { diffTrees } from '../../src/session/changes.js';
import { lookupPath } from '../../src/session/history.js';
import { tempDir } from './helpers.js';

type Spec = { [name: string]: string | Spec };

async function store(): Promise<ObjectStore> {
  return new ObjectStore(new LocalBackend(join(await tempDir(), 'objects')), 'test/merge');
}

/** Writes a tree. Inode numbers: "content@ino" for files, "name@ino" keys for directories, else the next free. */
async function tree(s: ObjectStore, spec: Spec, inos: { next: number } = { next: 2 }): Promise<{ tree: string; nextIno: number }> {
  async function dir(sp: Spec): Promise<string> {
    const entries: TreeEntry[] = [];
    for (const [name, v] of Object.entries(sp)) {
      if (typeof v === 'string') {
        const [content, at] = v.split('@');
        const ino = at ? Number(at) : inos.next;
        inos.next = Math.max(inos.next, ino + 1);
        entries.push({
          name,
          kind: 'file',
          mode: 0o644,
          ino,
          size: content.length,
          mtime: [1, 0],
          hash: await s.putBlob(Buffer.from(content)),
        });
      } else {
        const [dname, at] = name.split('@');
        const ino = at ? Number(at) : inos.next;
        inos.next = Math.max(inos.next, ino + 1);
        const hash = await dir(v);
        entries.push({
          name: dname,
          kind: 'dir',
          mode: 0o755,
          ino,
          size: 0,
          mtime: [1, 0],
          hash,
          dirs: Object.values(v).filter((x) => typeof x !== 'string').length,
        });
      }
    }
    return s.writeDir(entries);
  }
  const t = await dir(spec);
  return { tree: t, nextIno: inos.next };
}

/** Flattens a tree to path -> content (and collects inode numbers). */
async function flat(
  s: ObjectStore,
  t: string,
  prefix = '',
  out: Record<string, string> = {},
  inos: number[] = [],
): Promise<{ files: Record<string, string>; inos: number[] }> {
  for (const e of await s.listDir(t)) {
    inos.push(e.ino);
    if (e.kind === 'dir') await flat(s, e.hash ?? EMPTY_TREE, `${prefix}${e.name}/`, out, inos);
    else out[prefix + e.name] = (await s.getBlob(e.hash!)).toString();
  }
  return { files: out, inos };
}

describe('mergeTrees', () => {
  it('merges disjoint changes on both sides, in the same and in different directories', async () => {
    const s = await store();
    const B = await tree(s, { 'a@7': { x: 'x@2', y: 'y@3' }, 'b@8': { z: 'z@5' }, top: 'top@6' });
    const base = await flat(s, B.tree);
    expect(base.files).toEqual({ 'a/x': 'x', 'a/y': 'y', 'b/z': 'z', top: 'top' });
    expect(B.nextIno).toBe(9);
    const S = await tree(s, { 'a@7': { x: 'x2@2', y: 'y@3', n: 'new-s' }, 'b@8': { z: 'z@5' }, top: 'top@6' }, { next: B.nextIno });
    const H = await tree(s, { 'a@7': { x: 'x@2', y: 'y3@3' }, 'b@8': { z: 'z@5', w: 'new-h' } }, { next: B.nextIno });
    const m = await mergeTrees(s, B, S, H);
    expect(m.conflicts).toEqual([]);
    const got = await flat(s, m.tree);
    expect(got.files).toEqual({ 'a/x': 'x2', 'a/y': 'y3', 'a/n': 'new-s', 'b/z': 'z', 'b/w': 'new-h' });
    // fileids stay unique
    expect(new Set(got.inos).size).toBe(got.inos.length);
    expect(m.nextIno).toBeGreaterThan(Math.max(...got.inos));
  });

  it('identical changes on both sides are not conflicts', async () => {
    const s = await store();
    const B = await tree(s, { f: 'one@2', g: 'g@3' });
    const S = await tree(s, { f: 'two@2', n: 'same' }, { next: B.nextIno });
    const H = await tree(s, { f: 'two@2', n: 'same', g: 'g@3' }, { next: B.nextIno + 5 });
    const m = await mergeTrees(s, B, S, H);
    expect(m.conflicts).toEqual([]);
    // S deleted g, H kept it: the deletion applies
    expect((await flat(s, m.tree)).files).toEqual({ f: 'two', n: 'same' });
  });

  it('reports modify/modify, add/add, modify/delete, delete/modify and dir/file with paths', async () => {
    const s = await store();
    const B = await tree(s, { mm: 'b@2', md: 'b@3', dm: 'b@4', df: 'b@5', ok: 'b@6' });
    const S = await tree(s, { mm: 's@2', md: 's@3', aa: 's', df: { inner: 's' }, ok: 'b@6' }, { next: B.nextIno });
    const H = await tree(s, { mm: 'h@2', dm: 'h@4', aa: 'h', df: 'h@5', ok: 'b@6' }, { next: B.nextIno });
    const m = await mergeTrees(s, B, S, H);
    expect(m.conflicts.map((c) => [c.path, c.kind])).toEqual([
      ['aa', 'add/add'],
      ['df', 'dir/file'],
      ['dm', 'delete/modify'],
      ['md', 'modify/delete'],
      ['mm', 'modify/modify'],
    ]);
    const mm = m.conflicts.find((c) => c.path === 'mm')!;
    expect(mm.base?.hash).not.toBe(mm.session?.hash);
    expect(mm.session?.hash).not.toBe(mm.head?.hash);
    expect(m.conflicts.find((c) => c.path === 'md')!.head).toBeNull();
  });

  it('reports conflicts deep in directories changed on both sides, with the full path', async () => {
    const s = await store();
    const B = await tree(s, { 'src@2': { 'lib@3': { f: 'b@4' }, g: 'g@5' } });
    const S = await tree(s, { 'src@2': { 'lib@3': { f: 's@4' }, g: 'g@5' } }, { next: B.nextIno });
    const H = await tree(s, { 'src@2': { 'lib@3': { f: 'h@4' }, g: 'g2@5' } }, { next: B.nextIno });
    const m = await mergeTrees(s, B, S, H);
    expect(m.conflicts.map((c) => `${c.kind} ${c.path}`)).toEqual(['modify/modify src/lib/f']);
  });

  it("renumbers inodes the session created past the head's: ino - B.nextIno + H.nextIno", async () => {
    const s = await store();
    const B = await tree(s, { a: 'a@2' });
    expect(B.nextIno).toBe(3);
    const S = await tree(s, { a: 'a@2', s1: 's1@3', s2: 's2@4' });
    expect(S.nextIno).toBe(5);
    const H = await tree(s, { a: 'a@2', h1: 'h1@3', h2: 'h2@4', h3: 'h3@5' });
    expect(H.nextIno).toBe(6);
    const m = await mergeTrees(s, B, S, H);
    expect(m.conflicts).toEqual([]);
    const byName = new Map((await s.listDir(m.tree)).map((e) => [e.name, e.ino]));
    expect(byName.get('a')).toBe(2);
    expect([byName.get('h1'), byName.get('h2'), byName.get('h3')]).toEqual([3, 4, 5]);
    expect([byName.get('s1'), byName.get('s2')]).toEqual([3 - 3 + 6, 4 - 3 + 6]);
    expect(m.nextIno).toBe(6 + (5 - 3));
  });

  it('gives a base object the session moved a fresh number, so a move on both sides cannot duplicate it', async () => {
    const s = await store();
    const B = await tree(s, { old: 'content@2' }); // nextIno 3
    const S = await tree(s, { 'moved-s': 'content@2' }, { next: 3 });
    const H = await tree(s, { 'moved-h': 'content@2', other: 'other@3' });
    const m = await mergeTrees(s, B, S, H);
    expect(m.conflicts).toEqual([]);
    const got = await flat(s, m.tree);
    expect(got.files).toEqual({ 'moved-s': 'content', 'moved-h': 'content', other: 'other' });
    expect(new Set(got.inos).size).toBe(3);
    expect(m.nextIno).toBeGreaterThan(Math.max(...got.inos));
  });

  it('returns the session tree untouched when the head has not moved, and the head when the session changed nothing', async () => {
    const s = await store();
    const B = await tree(s, { a: 'a@2' });
    const S = await tree(s, { a: 'b@2' }, { next: 3 });
    expect(await mergeTrees(s, B, S, B)).toEqual({ tree: S.tree, nextIno: S.nextIno, conflicts: [] });
    const H = await tree(s, { a: 'a@2', h: 'h' }, { next: 3 });
    expect(await mergeTrees(s, B, B, H)).toEqual({ tree: H.tree, nextIno: H.nextIno, conflicts: [] });
  });

  it("the merged tree differs from the head by exactly the session's changes (diff is O(changes))", async () => {
    const s = await store();
    const files: Spec = {};
    for (let d = 0; d < 20; d++) {
      const sub: Spec = {};
      for (let f = 0; f < 50; f++) sub[`f${f}`] = `d${d}f${f}`;
      files[`d${d}@${1000 + d}`] = sub;
    }
    const B = await tree(s, files);
    const sSpec = structuredClone(files);
    (sSpec['d3@1003'] as Spec).f7 = 'changed by session';
    const hSpec = structuredClone(files);
    (hSpec['d9@1009'] as Spec).f1 = 'changed by head';
    // keep inode numbers: rebuild with the same walk order
    const S = await tree(s, sSpec);
    const H = await tree(s, hSpec);
    const m = await mergeTrees(s, B, S, H);
    expect(m.conflicts).toEqual([]);
    const d = await diffTrees(s, H.tree, m.tree);
    expect(d.map((c) => `${c.change_type} ${c.path}`)).toEqual(['modified d3/f7']);
    expect((await lookupPath(s, m.tree, ['d9', 'f1']))?.hash).toBe((await lookupPath(s, H.tree, ['d9', 'f1']))?.hash);
  });
});
