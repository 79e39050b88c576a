import { describe, expect, it } from 'vitest';
import { CHUNK_AVG, CHUNK_MAX, CHUNK_MIN, chunkLengths } from '../../src/store/chunker.js';
import { sha256Hex } from '../../src/store/codec.js';
import { seeded } from './seeded.js';

function chunkHashes(data: Buffer): string[] {
  const out: string[] = [];
  let pos = 0;
  for (const len of chunkLengths(data)) {
    out.push(sha256Hex(data.subarray(pos, pos + len)));
    pos += len;
  }
  return out;
}

const MiB = 1024 * 1024;

describe('chunker', () => {
  const data = seeded(64 * MiB);
  const lengths = chunkLengths(data);

  it('covers the data with chunks within [min, max], about the average size', () => {
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(data.length);
    for (const l of lengths.slice(0, -1)) {
      expect(l).toBeGreaterThanOrEqual(CHUNK_MIN);
      expect(l).toBeLessThanOrEqual(CHUNK_MAX);
    }
    const avg = data.length / lengths.length;
    expect(avg).toBeGreaterThan(0.7 * CHUNK_AVG);
    expect(avg).toBeLessThan(1.6 * CHUNK_AVG);
  });

  it('is deterministic (same cuts for a copy of the data) and cuts low-entropy data at max', () => {
    expect(chunkLengths(Buffer.from(data))).toEqual(lengths);
    expect(chunkLengths(Buffer.alloc(0))).toEqual([]);
    expect(chunkLengths(Buffer.alloc(100))).toEqual([100]);
    const zeros = chunkLengths(Buffer.alloc(10 * MiB));
    for (const l of zeros) expect(l).toBeLessThanOrEqual(CHUNK_MAX);
    expect(zeros.reduce((a, b) => a + b, 0)).toBe(10 * MiB);
  });

  it('an insertion or a deletion in the middle changes only the chunks near it', () => {
    const before = chunkHashes(data);
    const mid = 32 * MiB + 12345;
    const inserted = Buffer.concat([data.subarray(0, mid), Buffer.from('inserted bytes, not a multiple of anything'), data.subarray(mid)]);
    const deleted = Buffer.concat([data.subarray(0, mid), data.subarray(mid + 1000)]);
    for (const edited of [inserted, deleted]) {
      const after = chunkHashes(edited);
      const old = new Set(before);
      const fresh = after.filter((h) => !old.has(h));
      expect(fresh.length).toBeGreaterThanOrEqual(1);
      expect(fresh.length).toBeLessThanOrEqual(3);
      // everything before the edit is the same list, and the tails fall back into step
      const firstNew = after.findIndex((h) => !old.has(h));
      expect(after.slice(0, firstNew)).toEqual(before.slice(0, firstNew));
      expect(after.slice(-10)).toEqual(before.slice(-10));
      expect(Math.abs(after.length - before.length)).toBeLessThanOrEqual(2);
    }
  });
});
