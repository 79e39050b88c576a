// A large record's rest is read from the socket straight into its pooled buffer (RecordDecoder.inPlaceTarget /
// pushInPlace, socket-reader.ts): no copy out of the shared read buffer. The decoder hands out exactly the bytes
// still missing; over the wire, pipelined 600 KiB calls written in pieces of every size (1 byte, a record's end
// with the next record's mark, many records at once), with small calls between, all arrive intact.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseReply } from '../../rpc/message.js';
import { RecordDecoder } from '../../rpc/record-marking.js';
import { BufferPool } from '../../util/buffer-pool.js';
import { delay, callBody, framed, program, start, u32s, type Started } from './helpers.js';

const PROG = 0x20000177;
let s: Started | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('RecordDecoder in-place reads', () => {
  it('offers exactly the missing bytes of a large record in its pooled buffer, and emits that buffer', () => {
    const pool = new BufferPool(1024 * 1024 + 64 * 1024);
    const got: { rec: Buffer; pooled?: Buffer }[] = [];
    const d = new RecordDecoder((rec, pooled) => got.push({ rec, pooled }), { pool });
    const body = pattern(1024 * 1024, 1);
    const wire = framed(body);
    expect(d.inPlaceTarget()).toBeNull();
    d.push(wire.subarray(0, 200_000));
    let at = 200_000;
    for (const piece of [1, 4095, 300_000]) {
      const t = d.inPlaceTarget()!;
      expect(t.length).toBe(wire.length - at); // never room for the next record's bytes
      wire.copy(t, 0, at, at + piece);
      d.pushInPlace(piece);
      at += piece;
    }
    const t = d.inPlaceTarget()!;
    wire.copy(t, 0, at);
    d.pushInPlace(wire.length - at);
    expect(d.inPlaceTarget()).toBeNull();
    expect(got).toHaveLength(1);
    expect(got[0].rec.equals(body)).toBe(true);
    expect(got[0].rec.buffer).toBe(got[0].pooled!.buffer);
    expect(() => d.pushInPlace(1)).toThrow();
  });

  it('offers nothing for a record of several fragments or a small one', () => {
    const pool = new BufferPool(1024 * 1024 + 64 * 1024);
    const d = new RecordDecoder(() => {}, { pool });
    const h = Buffer.alloc(4);
    h.writeUInt32BE(200_000, 0); // not the last fragment
    d.push(Buffer.concat([h, Buffer.alloc(100_000)]));
    expect(d.inPlaceTarget()).toBeNull();
    const e = new RecordDecoder(() => {}, { pool });
    e.push(framed(Buffer.alloc(30_000)).subarray(0, 20_000));
    expect(e.inPlaceTarget()).toBeNull();
  });
});

describe('large calls over the wire, read in place', () => {
  it('pipelined 600 KiB calls written in pieces of every size arrive intact, small calls between', async () => {
    s = await start([
      program(PROG, 1, {
        1: (a, o) => void o.fixed(createHash('sha256').update(a.opaque()).digest()),
        2: (a, o) => void o.u32(a.u32() + a.u32()),
      }),
    ]);
    const c = await s.connect();
    const calls: { xid: number; want: Buffer }[] = [];
    const wire: Buffer[] = [];
    for (let i = 0; i < 24; i++) {
      const payload = pattern(600 * 1024 + i * 13, i + 7);
      const xid = c.nextXid();
      const len = Buffer.alloc(4);
      len.writeUInt32BE(payload.length, 0);
      const pad = Buffer.alloc((4 - (payload.length % 4)) % 4);
      wire.push(framed(callBody({ xid, prog: PROG, vers: 1, proc: 1 }, Buffer.concat([len, payload, pad]))));
      calls.push({ xid, want: createHash('sha256').update(payload).digest() });
      const small = c.nextXid();
      wire.push(framed(callBody({ xid: small, prog: PROG, vers: 1, proc: 2 }, u32s(i, 1000))));
      calls.push({ xid: small, want: u32s(i + 1000) });
    }
    const replies = calls.map((k) => c.waitForReply(k.xid, 20_000));
    const all = Buffer.concat(wire);
    // pieces: 1 byte, 3 bytes, 64 KiB, a record and a half, ... (sizes cycle; writes spaced so reads see each)
    const sizes = [1, 3, 65_536, 900_000, 7, 123_457, 2, 1_500_000, 40_000];
    let off = 0;
    for (let i = 0; off < all.length; i++) {
      const n = Math.min(sizes[i % sizes.length], all.length - off);
      c.sendRaw(all.subarray(off, off + n));
      off += n;
      if (i % 3 === 0) await delay(1);
    }
    const recs = await Promise.all(replies);
    for (let i = 0; i < calls.length; i++) {
      const h = parseReply(recs[i]);
      expect(h.stat).toBe(0);
      const body = recs[i].subarray(h.kind === 'accepted' ? h.bodyStart : 0);
      expect(body.subarray(0, calls[i].want.length).equals(calls[i].want)).toBe(true);
    }
  });
});
