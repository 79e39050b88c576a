// The chunk buffer pool (src/store/chunk-pool.ts): a buffer is reused only once every holder has let go, and
// not before the next turn of the event loop; releasing twice throws; idle buffers stay within their bound.
import { describe, expect, it } from 'vitest';
import { ChunkPool, LeaseSet } from '../../src/store/chunk-pool.js';

const MiB = 1024 * 1024;
const turn = () => new Promise((r) => setImmediate(r));

describe('ChunkPool', () => {
  it('reuses a buffer only after the taker and every lease released it, a turn later', async () => {
    const pool = new ChunkPool(16 * MiB);
    const a = pool.take(MiB + 1);
    expect(a.length).toBe(MiB + 1);
    const l1 = pool.lease(a.subarray(10, 20)); // a view finds its buffer
    const l2 = pool.lease(a);
    pool.release(a); // the taker's reference
    l1.release();
    await turn();
    expect(pool.take(MiB + 1).buffer).not.toBe(a.buffer); // l2 still holds it
    l2.release();
    expect(pool.take(MiB + 1).buffer).not.toBe(a.buffer); // not in the same turn
    await turn();
    expect(pool.stats.returned).toBe(1);
    const b = pool.take(MiB);
    expect(b.buffer).toBe(a.buffer); // same size class
    expect(pool.stats.reused).toBe(1);
  });

  it('a lease taken in the turn the last holder let go keeps the buffer', async () => {
    const pool = new ChunkPool(16 * MiB);
    const a = pool.take(MiB);
    pool.release(a);
    const l = pool.lease(a); // e.g. a promise continuation that received the chunk in this turn
    await turn();
    expect(pool.take(MiB).buffer).not.toBe(a.buffer);
    l.release();
    await turn();
    expect(pool.take(MiB).buffer).toBe(a.buffer);
  });

  it('double release throws; a lease on a buffer back in the pool throws', async () => {
    const pool = new ChunkPool(16 * MiB);
    const a = pool.take(MiB);
    const l = pool.lease(a);
    l.release();
    expect(() => l.release()).toThrow(/released twice/);
    pool.release(a);
    expect(() => pool.release(a)).toThrow(/more often than held/);
    await turn();
    expect(() => pool.lease(a)).toThrow(/went back to the pool/);
    const set = new LeaseSet(pool);
    set.add(pool.take(MiB));
    set.release();
    expect(() => set.release()).toThrow(/released twice/);
  });

  it('a buffer not from the pool: no-op lease and release; one never released is never reused', async () => {
    const pool = new ChunkPool(16 * MiB);
    const plain = Buffer.alloc(MiB);
    expect(pool.isPooled(plain)).toBe(false);
    pool.lease(plain).release();
    pool.release(plain);
    const held = pool.take(MiB);
    await turn();
    expect(pool.take(MiB).buffer).not.toBe(held.buffer);
    expect(pool.stats.reused).toBe(0);
  });

  it('keeps at most maxIdleBytes idle; the rest is left to the GC', async () => {
    const pool = new ChunkPool(3 * MiB);
    const bufs = Array.from({ length: 5 }, () => pool.take(MiB));
    for (const b of bufs) pool.release(b);
    await turn();
    expect(pool.stats.idleBytes).toBe(3 * MiB);
    expect(pool.stats.returned).toBe(3);
    // a dropped buffer is no longer the pool's: a stale lease on it is harmless
    expect(pool.isPooled(bufs[4]!)).toBe(false);
    for (let i = 0; i < 4; i++) pool.take(MiB);
    expect(pool.stats.reused).toBe(3);
    expect(pool.stats.idleBytes).toBe(0);
  });
});
