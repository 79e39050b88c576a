// An old unreferenced object that a writer reuses (dedup) must not be deleted by a later gc: the writer
// touches it, and gc looks at its age again just before deleting.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend, ObjectStore, objectRelKey } from '../../src/store/index.js';
import { collectGarbage } from '../../src/store/collect-garbage.js';
import { FRESHEN_AFTER_MS } from '../../src/store/object-store.js';

const P = 'gc/reuse';
const HOUR = 3_600_000;

async function age(root: string, store: ObjectStore, hash: string, ms: number): Promise<void> {
  const t = new Date(Date.now() - ms);
  await utimes(join(root, store.key(objectRelKey('blobs', hash))), t, t);
}

describe('reusing an old orphan', () => {
  it('touches it, so gc with a grace period keeps it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mic-gc-reuse-'));
    const backend = new LocalBackend(root);
    const data = randomBytes(1000);
    const hash = await new ObjectStore(backend, P).putBlob(data);
    await age(root, new ObjectStore(backend, P), hash, FRESHEN_AFTER_MS + 2 * HOUR);
    const key = new ObjectStore(backend, P).key(objectRelKey('blobs', hash));
    const before = (await backend.stat(key))!.mtimeMs;
    expect(Date.now() - before).toBeGreaterThan(FRESHEN_AFTER_MS);

    // a writer with a fresh process (no memory of the object) stores the same content again
    expect(await new ObjectStore(backend, P).putBlob(data)).toBe(hash);
    expect(Date.now() - (await backend.stat(key))!.mtimeMs).toBeLessThan(60_000);

    const report = await collectGarbage(new ObjectStore(backend, P), { graceMs: 2 * HOUR, dryRun: false });
    expect(report.deleted.objects).toBe(0);
    expect(await backend.has(key)).toBe(true);
  });

  it('a young object is not touched again', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mic-gc-reuse-'));
    const backend = new LocalBackend(root);
    const data = randomBytes(1000);
    const store = new ObjectStore(backend, P);
    const hash = await store.putBlob(data);
    await age(root, store, hash, HOUR / 2);
    const key = store.key(objectRelKey('blobs', hash));
    const before = (await backend.stat(key))!.mtimeMs;
    await new ObjectStore(backend, P).putBlob(data);
    expect((await backend.stat(key))!.mtimeMs).toBe(before);
  });
});
