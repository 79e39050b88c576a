import { describe, expect, it } from 'vitest';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ObjectStore, projectPrefix } from '../../src/store/object-store.js';
import { CorruptObjectError, InvalidKeyError, MissingObjectError } from '../../src/store/errors.js';
import { encodeStored, sha256Hex } from '../../src/store/codec.js';
import { isValidProject } from '../../src/store/keys.js';
import { EMPTY_TREE } from '../../src/store/tree-codec.js';
import type { HeadRecord } from '../../src/store/head-record.js';
import { CountingBackend, tempDir } from './helpers.js';

const PROJECT = 'acme/widgets';

async function setup() {
  const root = await tempDir();
  const backend = new CountingBackend(root);
  return { root, backend, store: new ObjectStore(backend, PROJECT) };
}

const blobPath = (root: string, h: string) => join(root, 'projects/acme/widgets/blobs', h.slice(0, 2), h);

describe('project names', () => {
  it('validates org/name and builds the prefix', () => {
    expect(projectPrefix('acme/widgets')).toBe('projects/acme/widgets/');
    for (const ok of ['a/b', 'A.b/c_d-9', 'x/..y']) expect(isValidProject(ok), ok).toBe(true);
    for (const bad of ['a', 'a/b/c', '/b', 'a/', './b', 'a/..', 'a b/c', 'a/' + 'x'.repeat(65), 'a~/b']) {
      expect(isValidProject(bad), bad).toBe(false);
    }
    expect(() => new ObjectStore(new CountingBackend('/nonexistent'), '../x')).toThrow(InvalidKeyError);
  });
});

describe('blobs', () => {
  it('round-trips empty, small, compressible and random content', async () => {
    const { root, store } = await setup();
    for (const data of [Buffer.alloc(0), Buffer.from('hi'), Buffer.from('abc'.repeat(10_000)), randomBytes(100_000)]) {
      const h = await store.putBlob(data);
      expect(h).toBe(sha256Hex(data));
      expect(await store.hasBlob(h)).toBe(true);
      expect(await stat(blobPath(root, h))).toBeTruthy();
      const fresh = new ObjectStore(new CountingBackend(root), PROJECT);
      expect((await fresh.getBlob(h)).equals(data)).toBe(true);
    }
    const compressible = await stat(blobPath(root, sha256Hex(Buffer.from('abc'.repeat(10_000)))));
    expect(compressible.size).toBeLessThan(1000);
  });

  it('deduplicates: a second put of the same content does not rewrite it', async () => {
    const { root, backend, store } = await setup();
    const data = Buffer.from('same bytes '.repeat(100));
    const h = await store.putBlob(data);
    const before = await stat(blobPath(root, h));
    await store.putBlob(Buffer.from(data));
    // A new store (no memory of it) checks has() and skips the upload too.
    const other = new ObjectStore(backend, PROJECT);
    await other.putBlob(Buffer.from(data));
    await Promise.all([1, 2, 3].map(() => other.putBlob(Buffer.from('parallel'))));
    expect(backend.puts.filter((k) => k.endsWith(h))).toHaveLength(1);
    expect(backend.puts.filter((k) => k.endsWith(sha256Hex('parallel')))).toHaveLength(1);
    const after = await stat(blobPath(root, h));
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.ino).toBe(before.ino);
  });

  it('detects corruption and never serves corrupt content', async () => {
    const { root, backend } = await setup();
    const writer = new ObjectStore(backend, PROJECT);
    const h = await writer.putBlob(Buffer.from('precious data '.repeat(50)));
    await writeFile(blobPath(root, h), randomBytes(200)); // garbage
    const reader = new ObjectStore(backend, PROJECT);
    await expect(reader.getBlob(h)).rejects.toBeInstanceOf(CorruptObjectError);
    // Well-formed object with the wrong content.
    await writeFile(blobPath(root, h), encodeStored(Buffer.from('other data '.repeat(50))));
    await expect(reader.getBlob(h)).rejects.toBeInstanceOf(CorruptObjectError);
    await writeFile(blobPath(root, h), Buffer.alloc(0));
    await expect(reader.getBlob(h)).rejects.toBeInstanceOf(CorruptObjectError);
  });

  it('missing blobs throw MissingObjectError; bad hashes are rejected', async () => {
    const { store } = await setup();
    const h = sha256Hex('never stored');
    await expect(store.getBlob(h)).rejects.toBeInstanceOf(MissingObjectError);
    expect(await store.hasBlob(h)).toBe(false);
    await expect(store.getBlob('../../etc/passwd')).rejects.toBeInstanceOf(InvalidKeyError);
  });

  it('concurrent gets share one fetch; later gets hit the RAM cache', async () => {
    const { root, backend } = await setup();
    const h = await new ObjectStore(backend, PROJECT).putBlob(randomBytes(5000));
    const counting = new CountingBackend(root);
    const store = new ObjectStore(counting, PROJECT, { cacheBytes: 1 << 20 });
    const results = await Promise.all(Array.from({ length: 10 }, () => store.getBlob(h)));
    expect(new Set(results.map((b) => b.toString('hex'))).size).toBe(1);
    expect(counting.gets).toHaveLength(1);
    await store.getBlob(h);
    expect(counting.gets).toHaveLength(1);
  });

  it('the blob cache is bounded in bytes', async () => {
    const { root, backend } = await setup();
    const writer = new ObjectStore(backend, PROJECT);
    const hashes = await Promise.all(Array.from({ length: 8 }, () => writer.putBlob(randomBytes(10_000))));
    const counting = new CountingBackend(root);
    const store = new ObjectStore(counting, PROJECT, { cacheBytes: 40_000 });
    for (const h of hashes) await store.getBlob(h);
    counting.reset();
    await store.getBlob(hashes[7]!); // recent: cached
    expect(counting.gets).toHaveLength(0);
    await store.getBlob(hashes[0]!); // evicted
    expect(counting.gets).toHaveLength(1);
  });
});

describe('heads', () => {
  const record = (tree: string, parent: string | null, message: string): HeadRecord => ({
    tree,
    nextIno: 100,
    parent,
    session: null,
    message,
    time: '2024-01-01T00:00:00.000Z',
  });

  it('creates, advances and refuses stale CAS', async () => {
    const { root, store } = await setup();
    expect(await store.getHead()).toBeNull();
    expect(await store.casHead(null, 0, record(EMPTY_TREE, null, 'init'))).toBe(true);
    const h1 = (await store.getHead())!;
    expect(h1.ref.generation).toBe(1);
    expect(h1.record.message).toBe('init');
    expect(h1.hash).toBe(h1.ref.head);
    expect(await store.getHeadRecord(h1.hash)).toEqual(h1.record);

    expect(await store.casHead(null, 0, record(EMPTY_TREE, null, 'again'))).toBe(false);
    expect(await store.casHead(h1.version, 1, record(EMPTY_TREE, h1.hash, 'second'))).toBe(true);
    expect(await store.casHead(h1.version, 1, record(EMPTY_TREE, h1.hash, 'stale'))).toBe(false);
    const h2 = (await new ObjectStore(new CountingBackend(root), PROJECT).getHead())!;
    expect(h2.ref.generation).toBe(2);
    expect(h2.record).toEqual(record(EMPTY_TREE, h1.hash, 'second'));
    expect(h2.version).not.toBe(h1.version);
  });

  it('same record twice still changes the ref version (nonce), so old versions never match again', async () => {
    const { store } = await setup();
    const rec = record(EMPTY_TREE, null, 'x');
    await store.casHead(null, 0, rec);
    const a = (await store.getHead())!;
    await store.casHead(a.version, a.ref.generation, rec);
    const b = (await store.getHead())!;
    expect(b.hash).toBe(a.hash);
    expect(b.version).not.toBe(a.version);
    expect(await store.casHead(a.version, a.ref.generation, rec)).toBe(false);
  });

  it('concurrent casHead on the same version: exactly one wins', async () => {
    const { root, store } = await setup();
    await store.casHead(null, 0, record(EMPTY_TREE, null, 'init'));
    const cur = (await store.getHead())!;
    const other = new ObjectStore(new CountingBackend(root), PROJECT);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? store : other).casHead(cur.version, 1, record(EMPTY_TREE, cur.hash, `w${i}`))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await store.getHead())!.record.message).toBe(`w${results.indexOf(true)}`);
  });

  it('detects a tampered head record', async () => {
    const { root, store } = await setup();
    await store.casHead(null, 0, record(EMPTY_TREE, null, 'init'));
    const h = (await store.getHead())!.hash;
    await writeFile(join(root, 'projects/acme/widgets/heads', h.slice(0, 2), h), '{"tree":"x"}');
    const fresh = new ObjectStore(new CountingBackend(root), PROJECT);
    await expect(fresh.getHead()).rejects.toBeInstanceOf(CorruptObjectError);
    await expect(fresh.getHeadRecord(sha256Hex('nope'))).rejects.toBeInstanceOf(MissingObjectError);
  });
});

describe('JSON documents', () => {
  it('round-trips under the project prefix', async () => {
    const { backend, store } = await setup();
    expect(await store.getJson('sessions/s1/metadata.json')).toBeNull();
    await store.putJson('sessions/s1/metadata.json', { id: 's1', n: [1, 2] });
    expect(await store.getJson<{ id: string }>('sessions/s1/metadata.json')).toEqual({ id: 's1', n: [1, 2] });
    expect(backend.puts).toContain('projects/acme/widgets/sessions/s1/metadata.json');
    await expect(store.putJson('../escape.json', {})).rejects.toBeInstanceOf(InvalidKeyError);
  });
});
