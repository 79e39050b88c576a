import { describe, expect, it } from 'vitest';
import { XdrError, XdrReader, XdrWriter } from '../../rpc/xdr.js';

describe('XDR (RFC 4506)', () => {
  it('round-trips every primitive', () => {
    const w = new XdrWriter(8); // small, to exercise growth
    w.u32(0xdeadbeef)
      .i32(-5)
      .u64(0x0102030405060708n)
      .u64(2 ** 40 + 7)
      .bool(true)
      .bool(false);
    w.fixed(Buffer.from([1, 2, 3]))
      .opaque(Buffer.from('hello'))
      .string('héllo wörld')
      .u32(7);
    const r = new XdrReader(w.toBuffer());
    expect(r.u32()).toBe(0xdeadbeef);
    expect(r.i32()).toBe(-5);
    expect(r.u64()).toBe(0x0102030405060708n);
    expect(r.u64n()).toBe(2 ** 40 + 7);
    expect(r.bool()).toBe(true);
    expect(r.bool()).toBe(false);
    expect([...r.fixed(3)]).toEqual([1, 2, 3]);
    expect(r.opaque().toString()).toBe('hello');
    expect(r.string()).toBe('héllo wörld');
    expect(r.u32()).toBe(7);
    expect(r.remaining).toBe(0);
  });

  it('pads opaques to 4 bytes with zeros', () => {
    const b = new XdrWriter().opaque(Buffer.from('abcde')).toBuffer();
    expect(b.length).toBe(4 + 8);
    expect([...b.subarray(9)]).toEqual([0, 0, 0]);
  });

  it('clamps u64n above 2^53', () => {
    const r = new XdrReader(new XdrWriter().u64(0xffffffffffffffffn).toBuffer());
    expect(r.u64n()).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('appends large opaques by reference, not by copy', () => {
    const big = Buffer.alloc(10000, 7);
    const w = new XdrWriter().u32(1).opaqueRef(big).u32(2);
    const chunks = w.chunks();
    expect(chunks).toContain(big);
    expect(w.length).toBe(4 + 4 + 10000 + 4);
    const r = new XdrReader(w.toBuffer());
    expect(r.u32()).toBe(1);
    expect(r.opaque().equals(big)).toBe(true);
    expect(r.u32()).toBe(2);
  });

  it('appends an opaque of several parts by reference: the wire bytes of one opaque of their concatenation', () => {
    for (const lens of [
      [5000, 3001],
      [4096, 4097, 1],
      [0, 6000, 2],
      [10, 20],
      [1, 2, 3],
    ]) {
      const parts = lens.map((n, i) => Buffer.alloc(n, i + 1));
      const w = new XdrWriter().u32(1).opaqueRefs(parts).u32(2);
      const joined = Buffer.concat(parts);
      expect(w.toBuffer().equals(new XdrWriter().u32(1).opaque(joined).u32(2).toBuffer())).toBe(true);
      if (joined.length >= 4096) for (const p of parts) if (p.length > 0) expect(w.chunks()).toContain(p);
    }
  });

  it('patches and truncates within the current buffer only', () => {
    const w = new XdrWriter().u32(1).u32(2).u32(3);
    w.patchU32(4, 9);
    w.truncate(8);
    expect([...new XdrReader(w.toBuffer()).fixed(8)]).toEqual([0, 0, 0, 1, 0, 0, 0, 9]);
    w.opaqueRef(Buffer.alloc(5000));
    expect(() => w.truncate(4)).toThrow(RangeError);
    expect(() => w.patchU32(0, 1)).toThrow(RangeError);
  });

  it('throws XdrError instead of reading past the end', () => {
    const r = new XdrReader(Buffer.from([0, 0, 0, 1, 0, 0]));
    expect(r.u32()).toBe(1);
    expect(() => r.u32()).toThrow(XdrError);
    expect(() => new XdrReader(Buffer.alloc(4)).u64()).toThrow(XdrError);
  });

  it('respects a reader end short of the buffer end', () => {
    const buf = new XdrWriter().u32(1).u32(2).toBuffer();
    const r = new XdrReader(buf, 0, 4);
    expect(r.u32()).toBe(1);
    expect(() => r.u32()).toThrow(XdrError);
  });

  it('rejects opaques longer than the data or the maximum', () => {
    expect(() => new XdrReader(new XdrWriter().u32(0xffffffff).toBuffer()).opaque()).toThrow(XdrError);
    expect(() => new XdrReader(new XdrWriter().u32(8).u32(0).toBuffer()).opaque()).toThrow(XdrError);
    expect(() => new XdrReader(new XdrWriter().string('toolong').toBuffer()).string(3)).toThrow(XdrError);
  });

  it('rejects a boolean other than 0 or 1', () => {
    expect(() => new XdrReader(new XdrWriter().u32(2).toBuffer()).bool()).toThrow(XdrError);
  });

  it('requires the padding of a fixed opaque to be present', () => {
    expect(() => new XdrReader(Buffer.from([1, 2, 3])).fixed(3)).toThrow(XdrError);
  });

  it('reserve hands out the next bytes in place; adopt goes on in a given buffer with what was written', () => {
    const w = new XdrWriter(8);
    w.u32(7);
    const pooled = Buffer.alloc(64, 0xee);
    w.adopt(pooled);
    const r = w.reserve(8);
    r.writeUInt32BE(0x01020304, 0);
    r.writeUInt32BE(0x05060708, 4);
    w.u32(9);
    expect(w.chunks()).toHaveLength(1);
    expect(w.toBuffer().equals(Buffer.from([0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 9]))).toBe(true);
    expect(w.toBuffer().buffer).toBe(pooled.buffer); // written in the adopted buffer, not a copy
    w.truncate(8);
    expect(w.length).toBe(8);
    expect(() => new XdrWriter(16).u32(1).u32(2).adopt(Buffer.alloc(4))).toThrow(RangeError);
  });
});
