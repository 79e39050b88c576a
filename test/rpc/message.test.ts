import { describe, expect, it } from 'vitest';
import { AuthSysCache, authenticate, encodeAuthSys, parseAuthSys } from '../../rpc/auth.js';
import {
  AUTH_BADCRED,
  AUTH_DH,
  AUTH_ERROR,
  AUTH_NONE,
  AUTH_REJECTEDCRED,
  AUTH_SHORT,
  AUTH_SYS,
  CALL_BAD_CRED,
  CALL_BAD_RPCVERS,
  CALL_DROP,
  CALL_GARBAGE,
  CALL_OK,
  CallHeader,
  PROG_MISMATCH,
  RPC_MISMATCH,
  RPCSEC_GSS,
  SUCCESS,
  parseCallHeader,
  parseReply,
  writeAcceptedHeader,
  writeAuthError,
  writeCallHeader,
  writeProgMismatch,
  writeRpcMismatch,
} from '../../rpc/message.js';
import { XdrWriter } from '../../rpc/xdr.js';
import { u32s } from './helpers.js';

describe('call header parsing (RFC 5531 §9)', () => {
  it('parses every field and finds the arguments', () => {
    const w = new XdrWriter();
    writeCallHeader(w, {
      xid: 77,
      prog: 100003,
      vers: 3,
      proc: 4,
      credFlavor: AUTH_SYS,
      credBody: Buffer.alloc(6, 1),
      verfBody: Buffer.alloc(3),
    });
    w.u32(0xabcdef);
    const rec = w.toBuffer();
    const h = new CallHeader();
    expect(parseCallHeader(rec, h)).toBe(CALL_OK);
    expect(h).toMatchObject({
      xid: 77,
      rpcvers: 2,
      prog: 100003,
      vers: 3,
      proc: 4,
      credFlavor: AUTH_SYS,
      credStart: 32,
      credLen: 6,
      verfFlavor: AUTH_NONE,
      verfLen: 3,
    });
    expect(rec.readUInt32BE(h.bodyStart)).toBe(0xabcdef);
  });

  it('classifies broken headers', () => {
    const h = new CallHeader();
    expect(parseCallHeader(Buffer.alloc(6), h)).toBe(CALL_DROP);
    expect(parseCallHeader(u32s(1, 1, 2), h)).toBe(CALL_DROP); // a REPLY
    expect(parseCallHeader(u32s(1, 0), h)).toBe(CALL_GARBAGE);
    expect(parseCallHeader(u32s(1, 0, 3), h)).toBe(CALL_BAD_RPCVERS);
    expect(parseCallHeader(u32s(1, 0, 2, 100003, 3), h)).toBe(CALL_GARBAGE);
    expect(parseCallHeader(u32s(1, 0, 2, 1, 1, 0, 1, 401), h)).toBe(CALL_BAD_CRED);
    expect(parseCallHeader(u32s(1, 0, 2, 1, 1, 0, 1, 8, 0), h)).toBe(CALL_GARBAGE); // cred runs past the end
    expect(parseCallHeader(u32s(1, 0, 2, 1, 1, 0, 0, 0, 0), h)).toBe(CALL_GARBAGE); // verifier cut short
  });
});

describe('reply headers (RFC 5531 §9)', () => {
  const parse = (f: (w: XdrWriter) => void) => {
    const w = new XdrWriter();
    f(w);
    return parseReply(w.toBuffer());
  };

  it('writes and parses accepted replies with an AUTH_NONE verifier', () => {
    expect(parse((w) => writeAcceptedHeader(w, 5, SUCCESS))).toEqual({
      xid: 5,
      kind: 'accepted',
      stat: SUCCESS,
      verfFlavor: AUTH_NONE,
      bodyStart: 24,
    });
    expect(parse((w) => writeProgMismatch(w, 6, 2, 4))).toMatchObject({ kind: 'accepted', stat: PROG_MISMATCH, low: 2, high: 4 });
  });

  it('writes and parses denied replies', () => {
    expect(parse((w) => writeRpcMismatch(w, 7))).toEqual({ xid: 7, kind: 'denied', stat: RPC_MISMATCH, low: 2, high: 2 });
    expect(parse((w) => writeAuthError(w, 8, AUTH_BADCRED))).toEqual({ xid: 8, kind: 'denied', stat: AUTH_ERROR, authStat: AUTH_BADCRED });
  });

  it('rejects records that are not replies', () => {
    expect(() => parseReply(u32s(1, 0))).toThrow();
    expect(() => parseReply(u32s(1, 1, 9))).toThrow();
  });
});

describe('AUTH_SYS (RFC 5531 appendix A)', () => {
  const cred = { stamp: 42, machine: 'box', uid: 1000, gid: 100, gids: [4, 24, 27] };

  it('round-trips a credential', () => {
    const b = encodeAuthSys(cred);
    expect(parseAuthSys(b, 0, b.length)).toEqual(cred);
    expect(authenticate(AUTH_SYS, b, 0, b.length)).toEqual(cred);
  });

  it('maps AUTH_NONE to null and refuses other flavors', () => {
    expect(authenticate(AUTH_NONE, Buffer.alloc(0), 0, 0)).toBeNull();
    expect(authenticate(RPCSEC_GSS, Buffer.alloc(0), 0, 0)).toBe(AUTH_BADCRED);
    expect(authenticate(AUTH_DH, Buffer.alloc(0), 0, 0)).toBe(AUTH_BADCRED);
    expect(authenticate(AUTH_SHORT, Buffer.alloc(0), 0, 0)).toBe(AUTH_REJECTEDCRED);
  });

  it('refuses malformed bodies with AUTH_BADCRED', () => {
    const tooManyGids = new XdrWriter().u32(0).string('m').u32(0).u32(0).u32(17).toBuffer();
    const longName = new XdrWriter().u32(0).opaque(Buffer.alloc(256, 97)).u32(0).u32(0).u32(0).toBuffer();
    const ok = encodeAuthSys(cred);
    const trailing = Buffer.concat([ok, Buffer.alloc(4)]);
    for (const b of [tooManyGids, longName, trailing, ok.subarray(0, ok.length - 4)]) {
      expect(authenticate(AUTH_SYS, b, 0, b.length)).toBe(AUTH_BADCRED);
    }
    expect(() => encodeAuthSys({ ...cred, gids: new Array(17).fill(1) })).toThrow(RangeError);
  });

  it('accepts the limits exactly (255-byte name, 16 gids)', () => {
    const max = { stamp: 1, machine: 'x'.repeat(255), uid: 1, gid: 1, gids: Array.from({ length: 16 }, (_, i) => i) };
    const b = encodeAuthSys(max);
    expect(parseAuthSys(b, 0, b.length)).toEqual(max);
  });

  it('caches the last credential per connection and returns frozen results', () => {
    const cache = new AuthSysCache();
    const b = encodeAuthSys(cred);
    const rec = Buffer.concat([Buffer.alloc(8), b]);
    const a1 = cache.get(rec, 8, b.length);
    const a2 = cache.get(Buffer.concat([Buffer.alloc(4), b]), 4, b.length);
    expect(a1).toEqual(cred);
    expect(a2).toBe(a1);
    expect(Object.isFrozen(a1)).toBe(true);
    const other = encodeAuthSys({ ...cred, uid: 5 });
    expect((cache.get(other, 0, other.length) as { uid: number }).uid).toBe(5);
    expect(cache.get(Buffer.alloc(3), 0, 3)).toBe(AUTH_BADCRED);
  });
});
