// Write batches (ObjectIo.batch over LocalBackend.putBehind/flush): a seal's objects are written behind and
// made durable together when the batch ends. Until then they exist for this store only (nothing durable names
// them yet); another process (here: another backend on the same directory) sees them once the batch is over,
// chunk manifests included; a put of the same object outside the batch resolves once it is durable in place.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LocalBackend } from '../../src/store/local-backend.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { objectRelKey } from '../../src/store/keys.js';
import { tempDir } from './helpers.js';

const PROJECT = 'acme/batch';

/** Object files (not temp files) under the store's root. */
function objectFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (!e.name.includes('~')) out.push(join(d, e.name));
    }
  };
  walk(root);
  return out;
}

describe('write batches', () => {
  it("a batch's objects are durable and visible to others only when it ends; inside it they read back", async () => {
    const root = join(await tempDir(), 'objects');
    const store = new ObjectStore(new LocalBackend(root), PROJECT);
    const other = new ObjectStore(new LocalBackend(root), PROJECT);
    const big = randomBytes(3 * 1024 * 1024); // chunked: chunks and a manifest
    let seen: { files: number; small: Buffer; tree: string; big: string } | null = null;
    const tree = await store.batch(async () => {
      const small = await store.putBlob(Buffer.from('small content\n'));
      const bigHash = await store.putBlob(big);
      const t = await store.writeDir([
        { name: 'small.txt', kind: 'file', mode: 0o644, ino: 10, size: 14, mtime: [1, 0], hash: small },
        { name: 'big.bin', kind: 'file', mode: 0o644, ino: 11, size: big.length, mtime: [1, 0], hash: bigHash },
      ]);
      seen = { files: objectFiles(root).length, small: await store.getBlob(small), tree: t, big: bigHash };
      // another reader cannot see them yet: nothing names them
      await expect(other.getBlob(small)).rejects.toThrow(/missing object/);
      return t;
    });
    expect(seen!.files).toBe(0);
    expect(seen!.small.toString()).toBe('small content\n');
    // after the batch, all of it is in place for everyone
    expect(objectFiles(root).length).toBeGreaterThanOrEqual(3);
    const fresh = new ObjectStore(new LocalBackend(root), PROJECT);
    expect((await fresh.listDir(tree)).map((e) => e.name).sort()).toEqual(['big.bin', 'small.txt']);
    expect((await fresh.getBlob(seen!.big)).equals(big)).toBe(true);
    expect(readdirSync(root, { recursive: true }).filter((n) => String(n).includes('~tmp'))).toEqual([]);
  });

  it('a put of the same object outside the batch resolves only once the object is durable in place', async () => {
    const root = join(await tempDir(), 'objects');
    const store = new ObjectStore(new LocalBackend(root), PROJECT);
    const data = Buffer.from('shared content\n');
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let hash = '';
    const batch = store.batch(async () => {
      hash = await store.putBlob(data);
      await hold;
    });
    while (!hash) await new Promise((r) => setTimeout(r, 5));
    const file = join(root, `projects/${PROJECT}/${objectRelKey('blobs', hash)}`);
    expect(existsSync(file)).toBe(false);
    // e.g. another session landing the same content while this seal goes on: it flushes the object
    await store.putBlob(data);
    expect(existsSync(file)).toBe(true);
    release();
    await batch;
    expect((await new ObjectStore(new LocalBackend(root), PROJECT).getBlob(hash)).equals(data)).toBe(true);
  });

  it('the objects of a failed batch are still made durable (their puts succeeded)', async () => {
    const root = join(await tempDir(), 'objects');
    const store = new ObjectStore(new LocalBackend(root), PROJECT);
    let hash = '';
    await expect(
      store.batch(async () => {
        hash = await store.putBlob(Buffer.from('before the failure\n'));
        throw new Error('seal failed');
      }),
    ).rejects.toThrow('seal failed');
    const fresh = new ObjectStore(new LocalBackend(root), PROJECT);
    expect((await fresh.getBlob(hash)).toString()).toBe('before the failure\n');
  });
});
