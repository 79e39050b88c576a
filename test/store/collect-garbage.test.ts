// Garbage collection on a LocalBackend: a project with several landings, sessions in every state, and
// orphans written straight into the store. Only the orphans go; every head and session still reads in full.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { DirectHost } from '../../src/session/host.js';
import { SessionService } from '../../src/session/service.js';
import { runGc } from '../../src/session/run-gc.js';
import { collectGarbage, parseDuration } from '../../src/store/collect-garbage.js';
import { EMPTY_TREE, LocalBackend, MissingObjectError, ObjectStore, objectRelKey, type TreeEntry } from '../../src/store/index.js';
import { initProject } from '../../src/session/project.js';
import type { SessionRecord } from '../../src/session/record.js';
import type { TreeDoc } from '../../src/session/seal.js';
import { allFiles } from './helpers.js';
import { makeProject, tempDir } from '../session/helpers.js';

const P = 'gc/app';
const DAY = 86_400_000;

/** Reads every tree node and every blob below tree, through a store with no caches. */
async function readAll(store: ObjectStore, tree: string): Promise<number> {
  let files = 0;
  for (const e of await store.listDir(tree)) {
    if (e.kind === 'dir') files += await readAll(store, e.hash ?? EMPTY_TREE);
    else if (e.kind === 'file') {
      expect((await store.getBlob(e.hash!)).length).toBe(e.size);
      files++;
    }
  }
  return files;
}

async function setAge(dataDir: string, keys: string[], ageMs: number): Promise<void> {
  const t = new Date(Date.now() - ageMs);
  await Promise.all(keys.map((k) => utimes(join(dataDir, 'objects', k), t, t)));
}

const objectKeys = async (dataDir: string) =>
  (await allFiles(join(dataDir, 'objects'))).filter((k) => /\/(blobs|trees|heads)\//.test(k)).sort();

async function build() {
  const dataDir = await tempDir('micfs-gc-');
  const many: Record<string, string> = {};
  for (let i = 0; i < 600; i++) many[`many/f-${String(i).padStart(3, '0')}.txt`] = `file ${i}\n`; // a split directory
  await makeProject(dataDir, P, { 'a.txt': 'a0\n', 'dir/b.txt': 'b0\n', 'dir/sub/c.txt': 'c0\n', ...many });
  const catalog = openCatalog(dataDir);
  const host = new DirectHost(catalog, dataDir, randomBytes(32));
  const svc = new SessionService({ catalog, host, dataDir });
  const start = async (goal: string) => (await svc.start({ goal, project: P })).session.session_id;
  const files = (id: string, list: { path: string; change_type: 'added' | 'modified' | 'deleted'; content?: string }[]) =>
    svc.files(id, { files: list });

  const late = await start('started early, lands after others (merge)');
  const s1 = await start('first landing');
  await files(s1, [
    { path: 'a.txt', change_type: 'modified', content: 'a1\n' },
    { path: 'src/new.txt', change_type: 'added', content: 'new\n' },
  ]);
  await svc.land(s1, { message: 'one' });
  const s2 = await start('second landing');
  await files(s2, [
    { path: 'a.txt', change_type: 'modified', content: 'a2\n' },
    { path: 'dir/b.txt', change_type: 'deleted' },
    { path: 'many/f-010.txt', change_type: 'modified', content: 'changed 10\n' },
  ]);
  await svc.land(s2, { message: 'two' });
  await files(late, [{ path: 'dir/sub/c.txt', change_type: 'modified', content: 'c-late\n' }]);
  await svc.land(late, { message: 'late' });
  const gone = await start('abandoned');
  await files(gone, [{ path: 'a.txt', change_type: 'modified', content: 'only in the abandoned session\n' }]);
  await svc.abandon(gone);
  const live = await start('active');
  await files(live, [{ path: 'live.txt', change_type: 'added', content: 'only in the live session\n' }]);
  await svc.get(live); // seals: tree.json names a tree only this session has
  const paused = await start('suspended');
  await files(paused, [{ path: 'many/f-500.txt', change_type: 'modified', content: 'paused\n' }]);
  await svc.get(paused);
  await svc.suspend(paused);
  await host.closeAll();
  return { dataDir, catalog, ids: [late, s1, s2, gone, live, paused] };
}

/** Everything each head and session names, read in full from a fresh store. */
async function verifyReadable(dataDir: string, ids: string[]): Promise<void> {
  const store = new ObjectStore(new LocalBackend(join(dataDir, 'objects')), P);
  const head = (await store.getHead())!;
  let n = 0;
  for (let h: string | null = head.hash; h; n++) {
    const rec = await store.getHeadRecord(h);
    expect(await readAll(store, rec.tree)).toBeGreaterThan(600);
    h = rec.parent;
  }
  expect(n).toBe(4);
  for (const id of ids) {
    const r = (await store.getJson<SessionRecord>(`sessions/${id}/metadata.json`))!;
    await readAll(store, r.base.tree);
    if (r.sealed) await readAll(store, r.sealed.tree);
    const doc = await store.getJson<TreeDoc>(`sessions/${id}/tree.json`);
    if (doc) await readAll(store, doc.tree);
  }
}

describe('gc', () => {
  it('keeps everything a head or a session names; removes exactly the orphans', async () => {
    const { dataDir, catalog, ids } = await build();
    const backend = catalog.backend;
    const store = catalog.store(P);
    const before = await objectKeys(dataDir);
    await setAge(dataDir, before, 2 * DAY);

    // a store built by landings and sessions alone has no garbage
    const clean = await runGc(backend, { graceMs: 0, dryRun: true });
    expect(clean.projects.map((p) => p.project)).toEqual([P]);
    expect(clean.projects[0]).toMatchObject({ heads: 4, sessions: 6, refused: null, missing: [] });
    expect(clean.projects[0].objects).toEqual([]);

    // orphans: blobs, a tree naming an orphan blob, a tree naming a referenced blob
    const orphanBlobs = await Promise.all([0, 1, 2].map((i) => store.putBlob(Buffer.from(`orphan ${i} ${'x'.repeat(i * 100)}`))));
    const kept = (await store.lookupDir((await store.getHead())!.record.tree, 'a.txt'))!;
    const e = (name: string, hash: string): TreeEntry => ({ name, kind: 'file', mode: 0o644, ino: 9, size: 1, mtime: [0, 0], hash });
    const orphanTrees = [await store.writeDir([e('x', orphanBlobs[0])]), await store.writeDir([e('y', kept.hash!)])];
    const orphanKeys = [
      ...orphanBlobs.map((h) => `projects/${P}/${objectRelKey('blobs', h)}`),
      ...orphanTrees.map((h) => `projects/${P}/${objectRelKey('trees', h)}`),
    ].sort();
    await setAge(dataDir, orphanKeys, 2 * DAY);
    expect(await objectKeys(dataDir)).toEqual([...before, ...orphanKeys].sort());

    const dry = await runGc(backend, { graceMs: 0, dryRun: true });
    const p = dry.projects[0];
    expect(p.objects.map((o) => o.key)).toEqual(orphanKeys);
    expect(p.objects.every((o) => o.size > 0 && o.age_ms >= 2 * DAY - 60_000)).toBe(true);
    expect(p.deleted).toEqual({ objects: 5, bytes: p.objects.reduce((s, o) => s + o.size, 0) });
    expect(p.listed.objects).toBe(p.referenced.objects + 5);
    expect(await objectKeys(dataDir)).toEqual([...before, ...orphanKeys].sort()); // nothing deleted

    // the default grace keeps them all when they are young; 1h keeps only the young one
    await setAge(dataDir, [orphanKeys[0]], 10 * 60_000);
    const graced = await runGc(backend, { graceMs: parseDuration('1h'), dryRun: false });
    expect(graced.projects[0].young).toMatchObject({ objects: 1 });
    expect(graced.projects[0].objects.map((o) => o.key)).toEqual(orphanKeys.slice(1));
    expect(await objectKeys(dataDir)).toEqual([...before, orphanKeys[0]].sort());

    const swept = await runGc(backend, { graceMs: 0, dryRun: false, projects: [P] });
    expect(swept.projects[0].objects.map((o) => o.key)).toEqual([orphanKeys[0]]);
    expect(swept.totals.deleted.objects).toBe(1);
    expect(await objectKeys(dataDir)).toEqual(before);
    await verifyReadable(dataDir, ids);
    expect((await runGc(backend, { graceMs: 0, dryRun: false })).totals.deleted.objects).toBe(0);
  });

  it('without the session roots, what only sessions name would go (so they do protect it)', async () => {
    const { dataDir, catalog } = await build();
    const store = new ObjectStore(catalog.backend, P);
    const r = await collectGarbage(store, { graceMs: 0, dryRun: true });
    expect(r.objects.length).toBeGreaterThan(0);
    const blobs = r.objects.filter((o) => o.key.includes('/blobs/')).map((o) => o.key.slice(o.key.lastIndexOf('/') + 1));
    const { sha256Hex } = await import('../../src/store/codec.js');
    expect(blobs.sort()).toEqual(
      [sha256Hex('only in the abandoned session\n'), sha256Hex('only in the live session\n'), sha256Hex('paused\n')].sort(),
    );
    expect(await objectKeys(dataDir)).toContain(r.objects[0].key); // dry run
  });

  it('refuses to delete anything when a referenced tree is missing', async () => {
    const { dataDir, catalog } = await build();
    const store = catalog.store(P);
    const orphan = await store.putBlob(Buffer.from('orphan'));
    const head = (await store.getHead())!;
    const sub = (await store.lookupDir(head.record.tree, 'dir'))!;
    await catalog.backend.delete(store.key(objectRelKey('trees', sub.hash!)));
    const r = await runGc(catalog.backend, { graceMs: 0, dryRun: false });
    expect(r.projects[0].missing).toContain(objectRelKey('trees', sub.hash!));
    expect(r.projects[0].refused).toMatch(/missing/);
    expect(r.totals.refused).toBe(1);
    expect(r.projects[0].deleted.objects).toBe(0);
    expect(await objectKeys(dataDir)).toContain(`projects/${P}/${objectRelKey('blobs', orphan)}`);
  });

  it('marks every chunk of a chunked blob, and what any session document names', async () => {
    const dir = await tempDir('micfs-gc-chunks-');
    const backend = new LocalBackend(dir);
    const store = new ObjectStore(backend, P);
    const big = randomBytes(9 * 1024 * 1024);
    const kept = await store.putBlob(big);
    const orphan = await store.putBlob(Buffer.concat([big.subarray(0, 6 * 1024 * 1024), randomBytes(3 * 1024 * 1024)]));
    const keptChunks = (await store.blobChunks(kept))!.map((c) => c.hash);
    const orphanChunks = (await store.blobChunks(orphan))!.map((c) => c.hash);
    expect(keptChunks.length).toBeGreaterThan(2);
    const shared = orphanChunks.filter((c) => keptChunks.includes(c));
    expect(shared.length).toBeGreaterThan(0); // content-defined cuts: the common prefix shares chunks
    const tree = await store.writeDir([
      { name: 'big.bin', kind: 'file', mode: 0o644, ino: 2, size: big.length, mtime: [0, 0], hash: kept },
    ]);
    await initProject(store, tree, 3, 'import');
    // a document of a kind gc does not know, naming a tree in free text
    const noted = await store.writeDir([
      { name: 'n.txt', kind: 'file', mode: 0o644, ino: 2, size: 5, mtime: [0, 0], hash: await store.putBlob(Buffer.from('noted')) },
    ]);
    await store.putJson('sessions/sess-x/handoff.json', { note: `see ${noted} for the work so far` });

    const blobKey = (h: string) => store.key(objectRelKey('blobs', h));
    const expected = [orphan, ...orphanChunks.filter((c) => !keptChunks.includes(c))].map(blobKey).sort();
    const dry = await runGc(backend, { graceMs: 0, dryRun: true });
    expect(dry.projects[0]).toMatchObject({ sessions: 1, refused: null });
    expect(dry.projects[0].objects.map((o) => o.key)).toEqual(expected);
    await runGc(backend, { graceMs: 0, dryRun: false });

    const fresh = new ObjectStore(new LocalBackend(dir), P);
    expect((await fresh.getBlob(kept)).equals(big)).toBe(true);
    expect((await fresh.listDir(noted)).map((e) => e.name)).toEqual(['n.txt']);
    expect((await fresh.getBlob((await fresh.lookupDir(noted, 'n.txt'))!.hash!)).toString()).toBe('noted');
    await expect(fresh.getBlob(orphan)).rejects.toBeInstanceOf(MissingObjectError);
    for (const c of shared) expect(await backend.has(blobKey(c))).toBe(true);
  });

  it('parses durations', () => {
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(7 * DAY);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(() => parseDuration('soon')).toThrow(/duration/);
    expect(() => parseDuration('-1h')).toThrow(/duration/);
  });
});
