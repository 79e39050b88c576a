// Large blobs stored as content-defined chunks plus a manifest, on a real LocalBackend.
import { describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ObjectStore } from '../../src/store/object-store.js';
import { CorruptObjectError } from '../../src/store/errors.js';
import { FORMAT_CHUNKED, encodeStored, sha256Hex } from '../../src/store/codec.js';
import { CHUNK_THRESHOLD } from '../../src/store/manifest.js';
import { verifyContentAddressed } from '../../src/store/disk-cache.js';
import { CountingBackend, tempDir } from './helpers.js';
import { seeded } from './seeded.js';

const PROJECT = 'acme/big';
const MiB = 1024 * 1024;
const blobKey = (h: string) => `projects/${PROJECT}/blobs/${h.slice(0, 2)}/${h}`;

async function setup() {
  const root = await tempDir();
  const backend = new CountingBackend(root, { fsync: false });
  return { root, backend, store: new ObjectStore(backend, PROJECT) };
}

async function blobKeys(backend: CountingBackend): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const o of backend.list(`projects/${PROJECT}/blobs/`)) out.add(o.key);
  return out;
}

describe('chunked blobs', () => {
  it('round-trips sizes around the threshold; only content above it is chunked', async () => {
    const { root, backend, store } = await setup();
    for (const size of [CHUNK_THRESHOLD - 1, CHUNK_THRESHOLD, CHUNK_THRESHOLD + 1, 3 * CHUNK_THRESHOLD + 12345]) {
      const data = seeded(size, size % 251);
      const h = await store.putBlob(data);
      expect(h).toBe(sha256Hex(data)); // what sealing computes
      const stored = await backend.get(blobKey(h));
      const chunked = size > CHUNK_THRESHOLD;
      expect(stored![0] === FORMAT_CHUNKED).toBe(chunked);
      expect(verifyContentAddressed(blobKey(h), stored!)).toBe(true); // the disk cache and upload queue accept it
      const fresh = new ObjectStore(new CountingBackend(root), PROJECT);
      expect((await fresh.getBlob(h)).equals(data)).toBe(true);
      expect(await fresh.blobSize(h)).toBe(size);
      const chunks = await fresh.blobChunks(h);
      if (!chunked) {
        expect(chunks).toBeNull();
        expect(await store.blobChunks(h, size)).toBeNull();
        continue;
      }
      expect(chunks!.length).toBeGreaterThanOrEqual(2);
      expect(chunks!.reduce((n, c) => n + c.length, 0)).toBe(size);
      for (const c of chunks!) expect(await store.hasBlob(c.hash)).toBe(true);
      expect(await store.blobChunks(h, size)).toEqual(chunks); // the file size as a hint
    }
  });

  it('readBlob returns any range, across chunk boundaries, fetching only the chunks it needs', async () => {
    const { root, store } = await setup();
    const data = seeded(20 * MiB, 7);
    const h = await store.putBlob(data);
    const chunks = (await store.blobChunks(h))!;
    const starts = chunks.map((_, i) => chunks.slice(0, i).reduce((n, c) => n + c.length, 0));
    const backend = new CountingBackend(root);
    const fresh = new ObjectStore(backend, PROJECT, { readAheadBytes: 0 });
    // a range across the boundary between chunks 2 and 3 reads the manifest and those two chunks only
    const b = starts[3]!;
    expect((await fresh.readBlob(h, b - 1000, 3000)).equals(data.subarray(b - 1000, b + 2000))).toBe(true);
    expect(backend.gets.sort()).toEqual([blobKey(h), blobKey(chunks[2]!.hash), blobKey(chunks[3]!.hash)].sort());
    backend.reset();
    expect((await fresh.readBlob(h, b, 10)).equals(data.subarray(b, b + 10))).toBe(true);
    expect(backend.gets).toEqual([]); // cached
    const cases: [number, number][] = [
      [0, 1],
      [0, 5 * MiB],
      [starts[1]! - 1, 2],
      [starts[4]! - 7, chunks[4]!.length + chunks[5]!.length + 14],
      [data.length - 100, 1000],
      [data.length, 10],
      [data.length + 5, 10],
      [12345, 0],
      [0, data.length],
    ];
    for (const [off, len] of cases) {
      const got = await fresh.readBlob(h, off, len);
      expect(got.equals(data.subarray(off, off + len)), `${off}+${len}`).toBe(true);
    }
    // small blobs go through the whole-blob path
    const small = Buffer.from('small content '.repeat(100));
    const hs = await store.putBlob(small);
    expect((await fresh.readBlob(hs, 6, 7)).toString()).toBe('content');
  });

  it('re-storing a large file edited in the middle writes only a few new objects', async () => {
    const { backend, store } = await setup();
    const data = seeded(32 * MiB, 3);
    await store.putBlob(data);
    const before = await blobKeys(backend);
    expect(before.size).toBeGreaterThan(15); // chunks + manifest
    const edited = Buffer.from(data);
    edited.write('an edit in the middle', 16 * MiB + 777);
    backend.reset();
    const other = new ObjectStore(backend, PROJECT); // no memory of what exists
    const h2 = await other.putBlob(edited);
    const after = await blobKeys(backend);
    const added = [...after].filter((k) => !before.has(k));
    expect(added).toContain(blobKey(h2));
    expect(added.length).toBeGreaterThanOrEqual(2);
    expect(added.length).toBeLessThanOrEqual(4); // the manifest and the chunks around the edit
    expect(backend.puts.length).toBe(added.length);
    expect((await new ObjectStore(backend, PROJECT).getBlob(h2)).equals(edited)).toBe(true);
  });

  it('detects a corrupt chunk and a corrupt manifest and never serves them', async () => {
    const { root, store } = await setup();
    const data = seeded(12 * MiB, 9);
    const h = await store.putBlob(data);
    const chunks = (await store.blobChunks(h))!;
    const victim = chunks[1]!;
    // a chunk whose bytes are valid zstd/raw but of other content
    await writeFile(join(root, blobKey(victim.hash)), encodeStored(Buffer.alloc(victim.length, 1)));
    let fresh = new ObjectStore(new CountingBackend(root), PROJECT);
    await expect(fresh.readBlob(h, chunks[0]!.length + 10, 10)).rejects.toBeInstanceOf(CorruptObjectError);
    await expect(fresh.getBlob(h)).rejects.toBeInstanceOf(CorruptObjectError);
    expect((await fresh.readBlob(h, 0, 100)).equals(data.subarray(0, 100))).toBe(true); // other chunks still fine

    const manifestPath = join(root, blobKey(h));
    const good = await readFile(manifestPath);
    const bad = Buffer.from(good);
    bad[60] ^= 0xff; // inside the chunk list
    await writeFile(manifestPath, bad);
    expect(verifyContentAddressed(blobKey(h), bad)).toBe(false);
    fresh = new ObjectStore(new CountingBackend(root), PROJECT);
    await expect(fresh.readBlob(h, 0, 100)).rejects.toBeInstanceOf(CorruptObjectError);
    await expect(fresh.blobChunks(h)).rejects.toBeInstanceOf(CorruptObjectError);
    await expect(fresh.getBlob(h)).rejects.toBeInstanceOf(CorruptObjectError);

    // an intact manifest under another blob's key
    const other = seeded(5 * MiB, 10);
    const ho = await store.putBlob(other);
    await writeFile(manifestPath, await readFile(join(root, blobKey(ho))));
    fresh = new ObjectStore(new CountingBackend(root), PROJECT);
    await expect(fresh.readBlob(h, 0, 100)).rejects.toThrow(/manifest of another blob/);
  });

  it('concurrent reads of one missing chunk fetch it once; sequential reads fetch ahead', async () => {
    const { root, store } = await setup();
    const data = seeded(24 * MiB, 11);
    const h = await store.putBlob(data);
    const chunks = (await store.blobChunks(h))!;
    const backend = new CountingBackend(root);
    const fresh = new ObjectStore(backend, PROJECT, { readAheadBytes: 4 * MiB });
    const reads = await Promise.all([0, 1, 2, 3, 4].map((i) => fresh.readBlob(h, i * 1000, 1000)));
    reads.forEach((r, i) => expect(r.equals(data.subarray(i * 1000, (i + 1) * 1000))).toBe(true));
    expect(backend.gets.filter((k) => k === blobKey(chunks[0]!.hash))).toHaveLength(1);
    expect(backend.gets.filter((k) => k === blobKey(h))).toHaveLength(1);

    // sequential 1 MiB reads: chunks beyond the one being read are fetched before they are asked for
    const step = MiB;
    for (let off = 5000; off < 3 * MiB; off += step) await fresh.readBlob(h, off, step);
    const ahead = chunks.findIndex((_, i) => chunks.slice(0, i).reduce((n, c) => n + c.length, 0) > 3 * MiB + 5000);
    await expect.poll(() => backend.gets.includes(blobKey(chunks[ahead]!.hash)), { timeout: 5000 }).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    backend.reset();
    const start = chunks.slice(0, ahead).reduce((n, c) => n + c.length, 0);
    expect((await fresh.readBlob(h, start, 1000)).equals(data.subarray(start, start + 1000))).toBe(true);
    expect(backend.gets.filter((k) => k === blobKey(chunks[ahead]!.hash))).toEqual([]); // already in RAM
  });

  it('readSlices hands out the cached chunks themselves: a range across a boundary is two slices, no copy', async () => {
    const { root, store } = await setup();
    const data = seeded(12 * MiB, 21);
    const h = await store.putBlob(data);
    const chunks = (await store.blobChunks(h))!;
    const fresh = new ObjectStore(new CountingBackend(root), PROJECT, { readAheadBytes: 0 });
    const boundary = chunks[0]!.length;
    expect(fresh.cachedSlices(h, boundary - 100, 300)).toBeNull(); // nothing in RAM yet
    const { parts } = await fresh.readSlices(h, boundary - 100, 300);
    expect(parts.map((p) => p.length)).toEqual([100, 200]);
    expect(Buffer.concat(parts).equals(data.subarray(boundary - 100, boundary + 200))).toBe(true);
    const again = fresh.cachedSlices(h, boundary - 100, 300)!.parts;
    expect(again[0]!.buffer).toBe(parts[0]!.buffer); // the same memory, from the RAM cache
    expect((await fresh.readSlices(h, data.length, 10)).parts).toEqual([]); // at the end: nothing
  });

  it('a sequential stream drops the chunks it has passed from RAM (drop-behind); a later read still gets them', async () => {
    const { root, store } = await setup();
    const data = seeded(40 * MiB, 31);
    const h = await store.putBlob(data);
    const backend = new CountingBackend(root);
    const fresh = new ObjectStore(backend, PROJECT, { readAheadBytes: 4 * MiB, cacheBytes: 256 * MiB });
    for (let off = 0; off < data.length; off += MiB) {
      expect(Buffer.concat((await fresh.readSlices(h, off, MiB)).parts).equals(data.subarray(off, off + MiB))).toBe(true);
    }
    expect(fresh.cachedSlices(h, 0, 4096)).toBeNull(); // passed long ago: gone from RAM
    expect(fresh.cachedSlices(h, data.length - 4096, 4096)).not.toBeNull(); // just read: still there
    backend.reset();
    expect((await fresh.readBlob(h, 0, 4096)).equals(data.subarray(0, 4096))).toBe(true); // from the backend again
    expect(backend.gets).toHaveLength(1);
  });
});
