// Garbage collection against a real radosgw, through the disk-cache tier: orphans go from the bucket and
// the cache; heads, session trees and everything they reach stay readable from the bucket.
import { describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ObjectStore } from '../../src/store/object-store.js';
import { TieredBackend } from '../../src/store/tiered-backend.js';
import { DiskCache } from '../../src/store/disk-cache.js';
import { EMPTY_TREE, objectRelKey } from '../../src/store/index.js';
import { importTree, initProject } from '../../src/session/project.js';
import { runGc } from '../../src/session/run-gc.js';
import type { ObjectBackend } from '../../src/store/object-backend.js';
import { useCluster } from './cluster.js';
import { s3, tempDir } from './helpers.js';

const cluster = useCluster();
const P = 'acme/gc';

async function keys(b: ObjectBackend, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of b.list(prefix)) out.push(o.key);
  return out.sort();
}

async function readAll(store: ObjectStore, tree: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await store.listDir(tree)) {
    if (e.kind === 'dir') out.push(...(await readAll(store, e.hash ?? EMPTY_TREE)).map((p) => `${e.name}/${p}`));
    else out.push(`${e.name}=${(await store.getBlob(e.hash!)).toString()}`);
  }
  return out.sort();
}

describe('gc on S3', () => {
  it('removes orphans and keeps what heads and sessions reference', async () => {
    const remote = s3(cluster());
    const backend = new TieredBackend(remote, new DiskCache(await tempDir(), { maxBytes: 64 * 1024 * 1024 }));
    const store = new ObjectStore(backend, P);
    const src = await tempDir();
    await writeFile(join(src, 'a.txt'), 'a0\n');
    await writeFile(join(src, 'b.txt'), 'b0\n');
    const imported = await importTree(store, src);
    await initProject(store, imported.tree, imported.nextIno, 'import');

    // a second head changing a.txt, and a session whose sealed tree only its record names
    const entry = async (name: string, content: string) => ({
      name,
      kind: 'file' as const,
      mode: 0o644,
      ino: 2,
      size: content.length,
      mtime: [0, 0] as [number, number],
      hash: await store.putBlob(Buffer.from(content)),
    });
    const H = (await store.getHead())!;
    const t2 = await store.updateDir(H.record.tree, new Map([['a.txt', await entry('a.txt', 'a1\n')]]));
    expect(await store.casHead(H.version, H.ref.generation, { ...H.record, tree: t2, parent: H.hash, message: 'two' })).toBe(true);
    const sessionTree = await store.updateDir(t2, new Map([['s.txt', { ...(await entry('s.txt', 'session only\n')), ino: 3 }]]));
    await store.putJson('sessions/sess-1/metadata.json', {
      session_id: 'sess-1',
      project: P,
      status: 'abandoned',
      base: { tree: t2 },
      sealed: { tree: sessionTree },
    });

    const orphans = [await store.putBlob(Buffer.from('orphan one')), await store.putBlob(Buffer.from('orphan two'))];
    const orphanTree = await store.writeDir([{ ...(await entry('o.txt', 'orphan three')) }]);
    const orphanKeys = [
      ...orphans.map((h) => store.key(objectRelKey('blobs', h))),
      store.key(objectRelKey('blobs', (await store.lookupDir(orphanTree, 'o.txt'))!.hash!)),
      store.key(objectRelKey('trees', orphanTree)),
    ].sort();
    const before = await keys(remote, `projects/${P}/`);

    // everything is young: a grace period keeps it all
    const graced = await runGc(backend, { graceMs: 3_600_000, dryRun: false });
    expect(graced.projects[0]).toMatchObject({ heads: 2, sessions: 1, refused: null, deleted: { objects: 0 }, young: { objects: 4 } });
    expect(await keys(remote, `projects/${P}/`)).toEqual(before);

    const dry = await runGc(backend, { graceMs: 0, dryRun: true, projects: [P] });
    expect(dry.projects[0].objects.map((o) => o.key)).toEqual(orphanKeys);
    expect(await keys(remote, `projects/${P}/`)).toEqual(before);

    const swept = await runGc(backend, { graceMs: 0, dryRun: false });
    expect(swept.projects[0].objects.map((o) => o.key)).toEqual(orphanKeys);
    expect(swept.totals.deleted.objects).toBe(4);
    expect(await keys(remote, `projects/${P}/`)).toEqual(before.filter((k) => !orphanKeys.includes(k)));
    for (const k of orphanKeys) expect(await backend.get(k)).toBeNull(); // gone from the disk cache too

    // a fresh store straight on the bucket reads every head and the session's tree in full
    const fresh = new ObjectStore(remote, P);
    const head = (await fresh.getHead())!;
    expect(await readAll(fresh, head.record.tree)).toEqual(['a.txt=a1\n', 'b.txt=b0\n']);
    expect(await readAll(fresh, (await fresh.getHeadRecord(head.record.parent!)).tree)).toEqual(['a.txt=a0\n', 'b.txt=b0\n']);
    expect(await readAll(fresh, sessionTree)).toEqual(['a.txt=a1\n', 'b.txt=b0\n', 's.txt=session only\n']);
    expect((await runGc(backend, { graceMs: 0, dryRun: false })).totals.deleted.objects).toBe(0);
  });

  it("touch renews an object's LastModified without changing its bytes (how a reused object escapes gc)", async () => {
    const remote = s3(cluster());
    const key = 'projects/acme/touch/blobs/aa/x';
    await remote.put(key, Buffer.from('same bytes'));
    const before = (await remote.stat(key))!;
    await new Promise((r) => setTimeout(r, 1100));
    await remote.touch(key);
    const after = (await remote.stat(key))!;
    expect(after.mtimeMs).toBeGreaterThan(before.mtimeMs);
    expect(after.size).toBe(before.size);
    expect((await remote.get(key))!.toString()).toBe('same bytes');
    expect(await remote.stat('projects/acme/touch/blobs/aa/none')).toBeNull();
  });
});
