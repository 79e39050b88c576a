// Property-based tests (fast-check) of the XDR codecs: rpc/xdr.ts (RFC 4506) and the NFSv3
// types of src/nfs/xdr-types.ts (RFC 1813 2.5, 2.6), against the test client's independent decoders.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { XdrError, XdrReader, XdrWriter } from '../../rpc/xdr.js';
import { parseAuthSys, encodeAuthSys } from '../../rpc/auth.js';
import { parseCallHeader, CallHeader, writeCallHeader, CALL_OK } from '../../rpc/message.js';
import { readCreateHow, readName, readSattr, writeFattr, writeWcc } from '../../src/nfs/xdr-types.js';
import { NfsStatus, type Attrs } from '../../src/fs/file-system.js';
import { decodeFattr, decodeWcc, encodeSattr } from '../lib/nfs3-client.js';

type Item =
  | { t: 'u32'; v: number }
  | { t: 'i32'; v: number }
  | { t: 'u64'; v: bigint }
  | { t: 'bool'; v: boolean }
  | { t: 'fixed'; v: Uint8Array }
  | { t: 'opaque'; v: Uint8Array }
  | { t: 'string'; v: string };

const item: fc.Arbitrary<Item> = fc.oneof(
  fc.record({ t: fc.constant('u32' as const), v: fc.nat({ max: 0xffffffff }) }),
  fc.record({ t: fc.constant('i32' as const), v: fc.integer({ min: -0x80000000, max: 0x7fffffff }) }),
  fc.record({ t: fc.constant('u64' as const), v: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
  fc.record({ t: fc.constant('bool' as const), v: fc.boolean() }),
  fc.record({ t: fc.constant('fixed' as const), v: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ t: fc.constant('opaque' as const), v: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ t: fc.constant('string' as const), v: fc.string({ unit: 'grapheme', maxLength: 40 }) }),
);

function write(w: XdrWriter, it: Item): void {
  switch (it.t) {
    case 'u32':
      w.u32(it.v);
      break;
    case 'i32':
      w.i32(it.v);
      break;
    case 'u64':
      w.u64(it.v);
      break;
    case 'bool':
      w.bool(it.v);
      break;
    case 'fixed':
      w.fixed(Buffer.from(it.v));
      break;
    case 'opaque':
      w.opaque(Buffer.from(it.v));
      break;
    case 'string':
      w.string(it.v);
      break;
  }
}

function read(r: XdrReader, it: Item): unknown {
  switch (it.t) {
    case 'u32':
      return r.u32();
    case 'i32':
      return r.i32();
    case 'u64':
      return r.u64();
    case 'bool':
      return r.bool();
    case 'fixed':
      return new Uint8Array(r.fixed(it.v.length));
    case 'opaque':
      return new Uint8Array(r.opaque());
    case 'string':
      return r.string();
  }
}

describe('XDR (RFC 4506) properties', () => {
  it('any sequence of items round-trips, 4-byte aligned, consumed exactly', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), (items) => {
        const w = new XdrWriter(8);
        for (const it of items) write(w, it);
        const buf = w.toBuffer();
        expect(buf.length % 4).toBe(0);
        const r = new XdrReader(buf);
        for (const it of items) expect(read(r, it)).toEqual(it.t === 'fixed' || it.t === 'opaque' ? new Uint8Array(it.v) : it.v);
        expect(r.remaining).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('a truncated encoding throws XdrError, never anything else, and never reads past the end', () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 10 }), fc.nat(), (items, cut) => {
        const w = new XdrWriter();
        for (const it of items) write(w, it);
        const buf = w.toBuffer();
        const short = buf.subarray(0, cut % buf.length);
        const r = new XdrReader(Buffer.concat([short, Buffer.alloc(8, 0xee)]), 0, short.length);
        try {
          for (const it of items) read(r, it);
        } catch (e) {
          expect(e).toBeInstanceOf(XdrError);
        }
        expect(r.pos).toBeLessThanOrEqual(short.length);
      }),
      { numRuns: 500 },
    );
  });

  it('AUTH_SYS credentials round-trip; arbitrary bytes parse or throw XdrError', () => {
    const auth = fc.record({
      stamp: fc.nat({ max: 0xffffffff }),
      machine: fc.string({ maxLength: 60 }).filter((s) => Buffer.byteLength(s) <= 255),
      uid: fc.nat({ max: 0xffffffff }),
      gid: fc.nat({ max: 0xffffffff }),
      gids: fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 16 }),
    });
    fc.assert(
      fc.property(auth, (a) => {
        const b = encodeAuthSys(a);
        expect(parseAuthSys(b, 0, b.length)).toEqual(a);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        const b = Buffer.from(bytes);
        try {
          parseAuthSys(b, 0, b.length);
        } catch (e) {
          expect(e).toBeInstanceOf(XdrError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('call headers round-trip; arbitrary records never make parseCallHeader throw', () => {
    const fields = fc.record({
      xid: fc.nat({ max: 0xffffffff }),
      prog: fc.nat({ max: 0xffffffff }),
      vers: fc.nat({ max: 0xffffffff }),
      proc: fc.nat({ max: 0xffffffff }),
      credFlavor: fc.constantFrom(0, 1),
      credBody: fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u)),
    });
    fc.assert(
      fc.property(fields, (f) => {
        const w = new XdrWriter();
        writeCallHeader(w, f);
        const h = new CallHeader();
        expect(parseCallHeader(w.toBuffer(), h)).toBe(CALL_OK);
        expect([h.xid, h.prog, h.vers, h.proc, h.credFlavor, h.credLen]).toEqual([
          f.xid,
          f.prog,
          f.vers,
          f.proc,
          f.credFlavor,
          f.credBody.length,
        ]);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(typeof parseCallHeader(Buffer.from(bytes), new CallHeader())).toBe('number');
      }),
      { numRuns: 1000 },
    );
  });
});

const u32 = fc.nat({ max: 0xffffffff });
const time = fc.record({ sec: u32, nsec: fc.nat({ max: 999_999_999 }) });
const size = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const attrs: fc.Arbitrary<Attrs> = fc.record({
  type: fc.integer({ min: 1, max: 7 }),
  mode: fc.nat({ max: 0o7777 }),
  nlink: u32,
  uid: u32,
  gid: u32,
  size,
  used: size,
  rdev: fc.tuple(u32, u32),
  fsid: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fileid: size,
  atime: time,
  mtime: time,
  ctime: time,
});

describe('NFSv3 XDR types (RFC 1813 2.5, 2.6) properties', () => {
  it('fattr3 and wcc_data written by the server decode with the client decoder', () => {
    fc.assert(
      fc.property(attrs, fc.option(fc.record({ size, mtime: time, ctime: time })), fc.option(attrs), (a, before, after) => {
        const w = new XdrWriter();
        writeFattr(w, a);
        writeWcc(w, { before, after });
        const r = new XdrReader(w.toBuffer());
        expect(decodeFattr(r)).toEqual(a);
        expect(decodeWcc(r)).toEqual({ before, after });
        expect(r.remaining).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('sattr3 and createhow3 written by the client decode on the server', () => {
    const setTime = fc.option(fc.oneof(fc.constant('server' as const), time), { nil: undefined });
    const sattr = fc
      .record(
        {
          mode: fc.option(fc.nat({ max: 0o7777 }), { nil: undefined }),
          uid: fc.option(u32, { nil: undefined }),
          gid: fc.option(u32, { nil: undefined }),
          size: fc.option(size, { nil: undefined }),
          atime: setTime,
          mtime: setTime,
        },
        { requiredKeys: [] },
      )
      .map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)));
    fc.assert(
      fc.property(sattr, fc.constantFrom(0, 1), (s, how) => {
        const w = encodeSattr(new XdrWriter().u32(how), s);
        const r = new XdrReader(w.toBuffer());
        expect(readCreateHow(r)).toEqual({ kind: how === 0 ? 'unchecked' : 'guarded', attrs: s });
        expect(r.remaining).toBe(0);
        expect(readSattr(new XdrReader(encodeSattr(new XdrWriter(), s).toBuffer()))).toEqual(s);
      }),
      { numRuns: 300 },
    );
  });

  it('filename3: any bytes give the name, NAMETOOLONG, INVAL or XdrError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, lie) => {
        const w = new XdrWriter().opaque(Buffer.from(bytes));
        const buf = w.toBuffer();
        if (lie) buf.writeUInt32BE(bytes.length + 4, 0);
        try {
          const n = readName(new XdrReader(buf));
          if (typeof n === 'string') {
            expect(Buffer.from(n, 'utf8').equals(Buffer.from(bytes))).toBe(true);
          } else {
            expect([NfsStatus.NAMETOOLONG, NfsStatus.INVAL]).toContain(n);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(XdrError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
