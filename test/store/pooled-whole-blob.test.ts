// A small blob stored whole can be the same object as a chunk of a large blob (same content, same hash, same
// key blobs/<hash>): a file of 4 MiB of zeros is the zero chunk every sparse or preallocated large file has.
// Read through the large blob first, the RAM cache holds that content in a pooled chunk buffer; a read of
// the small blob then finds it there. That buffer must be leased (READ) or copied (getBlob) like any chunk,
// or the pool hands it to the next chunk while the small blob's bytes are still in use.
import { describe, expect, it } from 'vitest';
import { ObjectStore } from '../../src/store/object-store.js';
import { CHUNK_MAX } from '../../src/store/chunker.js';
import { CountingBackend, tempDir } from './helpers.js';

const PROJECT = 'acme/alias';
const MiB = 1024 * 1024;
const turn = () => new Promise((r) => setImmediate(r));

/** Large blobs whose first chunk is CHUNK_MAX bytes of one value (a run of equal bytes never cuts early),
 *  and a small blob equal to the zero one's first chunk; a store with room for two such chunks (its pool,
 *  half the cache, for one). */
async function setup() {
  const root = await tempDir();
  const writer = new ObjectStore(new CountingBackend(root, { fsync: false }), PROJECT);
  const big = async (v: number) => writer.putBlob(Buffer.alloc(CHUNK_MAX + MiB, v));
  const zeros = await big(0);
  const sevens = await big(7);
  const eights = await big(8);
  const nines = await big(9);
  const small = await writer.putBlob(Buffer.alloc(CHUNK_MAX));
  expect((await writer.blobChunks(zeros))![0]!.hash).toBe(small); // the same object
  const store = new ObjectStore(new CountingBackend(root), PROJECT, { cacheBytes: 2 * CHUNK_MAX + MiB, readAheadBytes: 0 });
  /** reads byte 0 of a large blob: its first chunk enters the RAM cache (evicting the one there) */
  const touch = async (h: string) => (await store.readSlices(h, 0, 1)).release();
  return { store, zeros, sevens, eights, nines, small, touch };
}

const allZero = (parts: Buffer[]) => parts.every((p) => p.every((b) => b === 0));

describe('a whole blob that is also a cached chunk', () => {
  it('READ slices of it are leased: the chunk evicted and its buffer reused leaves them intact', async () => {
    const { store, zeros, sevens, eights, nines, small, touch } = await setup();
    await touch(zeros); // the zero chunk, in a pooled buffer
    const held = store.cachedSlices(small, 0, CHUNK_MAX)!; // a READ of the small file, its reply not yet sent
    expect(held.parts.length).toBe(1);
    await touch(sevens);
    await touch(eights); // evicts the zero chunk
    await turn();
    await touch(nines); // a chunk of the same size class: the pool's idle buffer, if there is one
    expect(allZero(held.parts)).toBe(true);
    held.release();
    const late = await store.readSlices(small, 0, CHUNK_MAX); // not cached now: read again, still exact
    expect(allZero(late.parts)).toBe(true);
    late.release();
    await turn();
    await touch(sevens); // its chunk was evicted: read again into a buffer from the pool
    expect(store.chunkPoolStats().reused).toBeGreaterThan(0);
  });

  it('getBlob of it is the caller own bytes, not the pooled buffer', async () => {
    const { store, zeros, sevens, eights, nines, small, touch } = await setup();
    await touch(zeros);
    const whole = await store.getBlob(small); // e.g. an export or API read holding it across turns
    await touch(sevens);
    await touch(eights);
    await turn();
    await touch(nines);
    expect(whole.every((b) => b === 0)).toBe(true);
  });
});
