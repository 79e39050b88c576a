import { describe, it, expect, vi } from 'vitest';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { HandleCodec } from '../../src/fs/handles.js';
import { HmacSha256 } from '../../src/fs/hmac.js';
import { FsError, NfsStatus } from '../../src/fs/file-system.js';

const codec = () => new HandleCodec(Buffer.alloc(32, 7));

function status(f: () => unknown): NfsStatus | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof FsError) return e.status;
    throw e;
  }
}

describe('HandleCodec.verify (ExportTable.resolve decodes a handle once)', () => {
  it('returns the same bytes as a FileHandle with the fsid and inode number they encode', () => {
    const c = codec();
    const raw = Buffer.from(c.encode(42n, 1234)); // a copy: a handle as it arrives in a request
    const { fh, info } = c.verify(raw);
    expect(fh).toBe(raw);
    expect(info).toEqual({ fsid: 42n, ino: 1234 });
    expect(c.decode(fh)).toBe(info); // the filesystem's decode of the same handle is the same result
  });

  it('refuses forged, truncated and foreign handles, also after a genuine one was verified', () => {
    const c = codec();
    const good = c.encode(42n, 1234);
    expect(c.verify(Buffer.from(good)).info.ino).toBe(1234);
    const forged = Buffer.from(good);
    forged.writeBigUInt64BE(1235n, 9); // another inode, same MAC
    expect(status(() => c.verify(forged))).toBe(NfsStatus.BADHANDLE);
    const flipped = Buffer.from(good);
    flipped[32] ^= 1;
    expect(status(() => c.verify(flipped))).toBe(NfsStatus.BADHANDLE);
    expect(status(() => c.verify(good.subarray(0, 32)))).toBe(NfsStatus.BADHANDLE);
    const foreign = new HandleCodec(Buffer.alloc(32, 8)).encode(42n, 1234);
    expect(status(() => c.verify(foreign))).toBe(NfsStatus.BADHANDLE);
  });

  it('v2 handles carry the epoch under the MAC: a changed epoch, a v1 header on v2 bytes and a fresh codec are checked', () => {
    const c = codec();
    const v2 = c.encode(42n, 1234, 3);
    expect(v2.length).toBe(37);
    expect(c.verify(Buffer.from(v2)).info).toEqual({ fsid: 42n, ino: 1234, epoch: 3 });
    expect(codec().verify(Buffer.from(v2)).info).toEqual({ fsid: 42n, ino: 1234, epoch: 3 }); // after a restart
    expect(c.verify(Buffer.from(c.encode(42n, 1234, 0))).info.epoch).toBe(0); // an object of the base
    const older = Buffer.from(v2);
    older.writeUInt32BE(2, 17); // another epoch, same MAC
    expect(status(() => c.verify(older))).toBe(NfsStatus.BADHANDLE);
    expect(status(() => codec().verify(older))).toBe(NfsStatus.BADHANDLE);
    const relabelled = Buffer.from(v2);
    relabelled[0] = 1;
    expect(status(() => c.verify(relabelled))).toBe(NfsStatus.BADHANDLE);
    // the v1 handle of the same inode is another handle, remembered apart from the v2 one
    expect(c.verify(Buffer.from(c.encode(42n, 1234))).info).toEqual({ fsid: 42n, ino: 1234 });
    expect(c.verify(Buffer.from(v2)).info.epoch).toBe(3);
  });

  it('a handle it minted is accepted without computing its MAC again (the GETATTR after a CREATE)', () => {
    const c = codec();
    const mac = vi.spyOn(c as unknown as { mac(fh: Buffer): Buffer }, 'mac'); // counts, calls through
    const minted = c.encode(42n, 99);
    expect(mac).toHaveBeenCalledTimes(1);
    expect(c.verify(Buffer.from(minted)).info).toEqual({ fsid: 42n, ino: 99 });
    expect(mac).toHaveBeenCalledTimes(1);
    // a different handle still pays for its MAC, and a forged one is still refused
    const forged = Buffer.from(minted);
    forged.writeBigUInt64BE(100n, 9);
    expect(status(() => c.verify(forged))).toBe(NfsStatus.BADHANDLE);
    expect(mac).toHaveBeenCalledTimes(2);
  });

  it('handles of many interleaved calls each decode to their own inode, first by the resolve, then by the filesystem', () => {
    const c = codec();
    const minted = Array.from({ length: 10 }, (_, i) => c.encode(7n, 100 + i));
    // ten calls in flight: each arrives as a fresh copy, is verified, and is decoded again later in any order
    const arrived = minted.map((m) => Buffer.from(m));
    const verified = arrived.map((raw) => c.verify(raw).info);
    for (const i of [9, 0, 5, 3, 8, 1, 7, 2, 6, 4]) {
      expect(c.decode(arrived[i])).toEqual({ fsid: 7n, ino: 100 + i });
      expect(c.decode(arrived[i])).toEqual(verified[i]);
    }
    // a forged copy of a handle just decoded is still refused
    const forged = Buffer.from(arrived[4]);
    forged[32] ^= 1;
    expect(status(() => c.decode(forged))).toBe(NfsStatus.BADHANDLE);
  });

  it('a known handle is matched on every byte: one changed anywhere (fsid, inode, MAC) is refused', () => {
    const c = codec();
    const good = c.encode(0x1234_5678_9abc_def0n, 2 ** 40 + 5);
    expect(c.decode(Buffer.from(good)).ino).toBe(2 ** 40 + 5);
    for (let at = 1; at < good.length; at++) {
      const bad = Buffer.from(good);
      bad[at] ^= 0x10;
      expect(
        status(() => c.decode(bad)),
        `byte ${at}`,
      ).toBe(NfsStatus.BADHANDLE);
    }
    expect(status(() => c.decode(Buffer.concat([good, Buffer.alloc(1)])))).toBe(NfsStatus.BADHANDLE);
  });

  it('handles of two exports whose fsids share the low word and of the same inode number both decode', () => {
    const c = codec();
    const a = c.encode(42n, 7);
    const b = c.encode(42n + 2n ** 32n, 7);
    for (let i = 0; i < 3; i++) {
      expect(c.decode(Buffer.from(a))).toEqual({ fsid: 42n, ino: 7 });
      expect(c.decode(Buffer.from(b))).toEqual({ fsid: 42n + 2n ** 32n, ino: 7 });
    }
  });
});

describe("HmacSha256 (the handles' MAC)", () => {
  it('gives the bytes of createHmac for keys shorter and longer than a block and messages up to and past its room', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 150 }), fc.uint8Array({ minLength: 0, maxLength: 100 }), (key, msg) => {
        const k = Buffer.from(key);
        const m = Buffer.from(msg);
        const want = createHmac('sha256', k).update(m).digest();
        const h = new HmacSha256(k);
        expect(h.mac(m).equals(want)).toBe(true);
        expect(h.mac(m).equals(want)).toBe(true); // again: nothing of the last message is left in the buffers
        expect(h.mac(Buffer.concat([m, Buffer.from('tail')]), m.length).equals(want)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('handles minted before keep verifying: a v1 and a v2 handle made with createHmac decode', () => {
    const secret = Buffer.alloc(32, 9);
    const v1 = Buffer.alloc(33);
    v1[0] = 1;
    v1.writeBigUInt64BE(5n, 1);
    v1.writeBigUInt64BE(77n, 9);
    createHmac('sha256', secret).update(v1.subarray(0, 17)).digest().copy(v1, 17, 0, 16);
    const v2 = Buffer.alloc(37);
    v2[0] = 2;
    v2.writeBigUInt64BE(5n, 1);
    v2.writeBigUInt64BE(78n, 9);
    v2.writeUInt32BE(3, 17);
    createHmac('sha256', secret).update(v2.subarray(0, 21)).digest().copy(v2, 21, 0, 16);
    const c = new HandleCodec(secret);
    expect(c.decode(v1)).toEqual({ fsid: 5n, ino: 77 });
    expect(c.decode(v2)).toEqual({ fsid: 5n, ino: 78, epoch: 3 });
    expect(c.encode(5n, 77).equals(v1)).toBe(true);
    expect(c.encode(5n, 78, 3).equals(v2)).toBe(true);
  });
});
