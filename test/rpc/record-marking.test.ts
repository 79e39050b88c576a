import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  COPY_SLAB_MIN,
  CopySlab,
  RecordDecoder,
  RecordMemoryBudget,
  RecordMemoryError,
  RecordTooLargeError,
  TooManyFragmentsError,
  frame,
  recordMark,
} from '../../rpc/record-marking.js';
import { BufferPool } from '../../util/buffer-pool.js';

function fragment(data: Buffer, last: boolean): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(((last ? 0x80000000 : 0) | data.length) >>> 0, 0);
  return Buffer.concat([h, data]);
}

const bytes = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

function decodeAll(chunks: Buffer[], max?: number): Buffer[] {
  const out: Buffer[] = [];
  const d = new RecordDecoder((r) => out.push(Buffer.from(r)), { maxRecordSize: max });
  for (const c of chunks) d.push(c);
  return out;
}

describe('record marking (RFC 5531 §11)', () => {
  const r1 = bytes(13, 1);
  const r2a = bytes(5, 2);
  const r2b = bytes(0, 3);
  const r2c = bytes(9, 4);
  const r3 = bytes(4, 5);
  // record 2 has three fragments, one of them empty
  const stream = Buffer.concat([fragment(r1, true), fragment(r2a, false), fragment(r2b, false), fragment(r2c, true), fragment(r3, true)]);
  const expected = [r1, Buffer.concat([r2a, r2b, r2c]), r3];

  it('decodes whole records, reassembling fragments', () => {
    expect(decodeAll([stream])).toEqual(expected);
  });

  it('decodes the same records when the stream is split at every byte boundary', () => {
    for (let i = 0; i <= stream.length; i++) {
      expect(decodeAll([stream.subarray(0, i), stream.subarray(i)]), `split at ${i}`).toEqual(expected);
    }
    for (let i = 1; i < stream.length; i++) {
      for (let j = i + 1; j < stream.length; j += 3) {
        expect(decodeAll([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]), `split at ${i},${j}`).toEqual(expected);
      }
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const chunks = [...stream].map((b) => Buffer.from([b]));
    expect(decodeAll(chunks)).toEqual(expected);
  });

  it('hands out a view without copying when a record lies inside one chunk', () => {
    const chunk = Buffer.concat([fragment(r1, true), fragment(r3, true)]);
    const seen: Buffer[] = [];
    new RecordDecoder((r) => seen.push(r)).push(chunk);
    expect(seen).toHaveLength(2);
    expect(seen[0].buffer).toBe(chunk.buffer);
    expect(seen[0].byteOffset).toBe(chunk.byteOffset + 4);
    expect(seen[1].equals(r3)).toBe(true);
  });

  it('emits an empty record for an empty last fragment', () => {
    expect(decodeAll([fragment(Buffer.alloc(0), true)])).toEqual([Buffer.alloc(0)]);
  });

  it('rejects a record over the maximum as soon as its header arrives', () => {
    const d = new RecordDecoder(() => {}, { maxRecordSize: 100 });
    const h = Buffer.alloc(4);
    h.writeUInt32BE((0x80000000 | 101) >>> 0, 0);
    expect(() => d.push(h)).toThrow(RecordTooLargeError);
    // the stream cannot be resynchronised: the decoder stays failed
    expect(() => d.push(fragment(bytes(4, 0), true))).toThrow(RecordTooLargeError);
  });

  it('counts every fragment of a record towards the maximum', () => {
    const seen: Buffer[] = [];
    const d = new RecordDecoder((r) => seen.push(r), { maxRecordSize: 100 });
    d.push(fragment(bytes(100, 0), true)); // exactly the maximum is fine
    expect(seen).toHaveLength(1);
    d.push(fragment(bytes(60, 0), false));
    expect(() => d.push(fragment(bytes(60, 0), true))).toThrow(RecordTooLargeError);
  });

  it('refuses a record of more fragments than the maximum, and holds its bytes in a few blocks', () => {
    const seen: Buffer[] = [];
    const d = new RecordDecoder((r) => seen.push(Buffer.from(r)), { maxFragments: 1000 });
    const frags: Buffer[] = [];
    for (let i = 0; i < 999; i++) frags.push(fragment(Buffer.from([i & 0xff]), false));
    frags.push(fragment(Buffer.from([0xee]), true));
    d.push(Buffer.concat(frags)); // exactly the maximum is fine
    expect(seen).toHaveLength(1);
    expect(seen[0].length).toBe(1000);
    expect(seen[0][998]).toBe(998 & 0xff);
    for (let i = 0; i < 1000; i++) d.push(fragment(Buffer.from([1]), false));
    expect(d.bufferedBytes).toBeLessThanOrEqual(64 * 1024);
    expect(() => d.push(fragment(Buffer.from([1]), false))).toThrow(TooManyFragmentsError);
  });

  it('partial records of several decoders share one memory budget, given back when records complete', () => {
    const budget = new RecordMemoryBudget(200 * 1024);
    const seen: Buffer[] = [];
    const a = new RecordDecoder((r) => seen.push(r), { budget });
    const b = new RecordDecoder((r) => seen.push(r), { budget });
    const big = fragment(bytes(150 * 1024, 3), true);
    a.push(big.subarray(0, 100 * 1024)); // 100 KiB received: two 64 KiB blocks
    expect(budget.used).toBe(128 * 1024);
    expect(() => b.push(big.subarray(0, 100 * 1024))).toThrow(RecordMemoryError);
    expect(budget.used).toBe(128 * 1024); // what b took is given back
    a.push(big.subarray(100 * 1024));
    expect(seen).toHaveLength(1);
    expect(seen[0].equals(bytes(150 * 1024, 3))).toBe(true);
    expect(budget.used).toBe(0);
  });

  it('defaults to a 2 MiB + 64 KiB maximum', () => {
    const d = new RecordDecoder(() => {});
    expect(d.maxRecordSize).toBe(2 * 1024 * 1024 + 64 * 1024);
  });

  it('frames chunks as one last fragment without copying them', () => {
    const a = bytes(8, 1);
    const b = bytes(12, 2);
    const f = frame([a, b]);
    expect(f).toHaveLength(3);
    expect(f[0].readUInt32BE(0)).toBe((0x80000000 | 20) >>> 0);
    expect(f[1]).toBe(a);
    expect(f[2]).toBe(b);
    expect(decodeAll([Buffer.concat(f)])).toEqual([Buffer.concat([a, b])]);
    expect(() => recordMark(0x80000000)).toThrow(RangeError);
  });
});

describe('transient chunks (a read buffer reused by the next read, rpc/socket-reader.ts)', () => {
  it('records inside one chunk are copies: overwriting the chunk afterwards changes none of them', () => {
    const small = bytes(100, 1);
    const large = randomBytes(200 * 1024); // at least 64 KiB: copied into a pooled buffer
    const got: { rec: Buffer; pooled?: Buffer }[] = [];
    const pool = new BufferPool(256 * 1024);
    const d = new RecordDecoder((rec, pooled) => got.push({ rec, pooled }), { transient: true, pool });
    const chunk = Buffer.concat([fragment(small, true), fragment(large, true)]);
    d.push(chunk);
    chunk.fill(0xee); // the next read lands in the same memory
    expect(got).toHaveLength(2);
    expect(got[0].rec.equals(small)).toBe(true);
    expect(got[1].rec.equals(large)).toBe(true);
    expect(got[0].pooled).toBeUndefined();
    expect(got[1].pooled?.length).toBe(256 * 1024); // the receiver gives it back to the pool
  });

  it('records of 4 to 64 KiB are copied into views of one shared slab, each its own bytes', () => {
    // a 4 KiB WRITE's record (4,236 bytes) once got an ArrayBuffer of its own per call
    const sizes = [COPY_SLAB_MIN, 4236, 4236, 9000, 64 * 1024 - 1, 17];
    const recs = sizes.map((n) => randomBytes(n));
    const got: Buffer[] = [];
    const d = new RecordDecoder((r) => got.push(r), { transient: true, pool: new BufferPool(256 * 1024) });
    const chunk = Buffer.concat(recs.map((r) => fragment(r, true)));
    d.push(chunk);
    chunk.fill(0xee);
    expect(got).toHaveLength(recs.length);
    for (let i = 0; i < recs.length; i++) expect(got[i].equals(recs[i])).toBe(true);
    // the 4-64 KiB ones share one ArrayBuffer and do not overlap
    const mid = got.slice(0, 5);
    for (const r of mid) expect(r.buffer).toBe(mid[0].buffer);
    const spans = mid.map((r) => [r.byteOffset, r.byteOffset + r.length]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
    // a later record overwrites nothing of an earlier one
    d.push(Buffer.concat([fragment(Buffer.alloc(5000, 0x55), true)]));
    for (let i = 0; i < recs.length; i++) expect(got[i].equals(recs[i])).toBe(true);
  });

  it('a copy slab starts a new slab when the next record does not fit, and gives an oversized one its own', () => {
    const s = new CopySlab(10_000);
    const a = s.take(6000);
    const b = s.take(3000);
    const c = s.take(3000); // 6000 + 3000 (8-byte aligned) + 3000 > 10,000
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(a.byteOffset + 6000);
    expect(c.buffer).not.toBe(a.buffer);
    expect(c.length).toBe(3000);
    const big = s.take(20_000);
    expect(big.length).toBe(20_000);
    expect(s.take(8).buffer).toBe(c.buffer);
  });

  it('records spanning chunks are reassembled from copies as before', () => {
    const rec = randomBytes(70 * 1024);
    const framed = fragment(rec, true);
    const got: Buffer[] = [];
    const d = new RecordDecoder((r) => got.push(r), { transient: true, pool: new BufferPool(128 * 1024) });
    const reused = Buffer.alloc(30 * 1024);
    for (let off = 0; off < framed.length; off += reused.length) {
      const n = framed.copy(reused, 0, off, Math.min(framed.length, off + reused.length));
      d.push(reused.subarray(0, n));
      reused.fill(0xee);
    }
    expect(got).toHaveLength(1);
    expect(got[0].equals(rec)).toBe(true);
  });
});
