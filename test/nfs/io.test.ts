// READ and WRITE (RFC 1813 3.3.6, 3.3.7).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XdrWriter } from '../../rpc/xdr.js';
import { makeFile, nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { AcceptStat, acceptStat, FileType, Nfs3Client, NfsStatus, Proc, StableHow } from '../lib/nfs3-client.js';

let f: Fixture;
let dir: Buffer;
beforeAll(async () => {
  f = await nfsFixture();
  dir = await f.freshDir('io');
});
afterAll(async () => {
  await f.close();
});

const MiB = 1048576;

describe('WRITE', () => {
  it('writes and returns wcc_data, count, committed and the verifier', async () => {
    const fh = await makeFile(f.client, dir, 'w1');
    const res = await f.client.write(fh, 0, Buffer.from('hello world'), StableHow.FILE_SYNC);
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.count).toBe(11);
    expect(res.committed).toBe(StableHow.FILE_SYNC);
    expect(res.verf!.length).toBe(8);
    expect(res.wcc.before!.size).toBe(0);
    expect(res.wcc.after!.size).toBe(11);
  });

  it('an UNSTABLE write reports a commitment of at least UNSTABLE and the same verifier', async () => {
    const fh = await makeFile(f.client, dir, 'w2');
    const a = await f.client.write(fh, 0, Buffer.from('a'), StableHow.UNSTABLE);
    const b = await f.client.write(fh, 1, Buffer.from('b'), StableHow.FILE_SYNC);
    expect(a.status).toBe(NfsStatus.OK);
    expect([StableHow.UNSTABLE, StableHow.DATA_SYNC, StableHow.FILE_SYNC]).toContain(a.committed);
    expect(a.verf!.equals(b.verf!)).toBe(true);
  });

  it('writes only `count` bytes when the opaque holds more', async () => {
    const fh = await makeFile(f.client, dir, 'w3');
    const res = await f.client.write(fh, 0, Buffer.from('abcdefgh'), StableHow.FILE_SYNC, 3);
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.count).toBe(3);
    const r = await f.client.read(fh, 0, 100);
    expect(r.data!.toString()).toBe('abc');
  });

  it('count larger than the data is INVAL with file wcc_data', async () => {
    const fh = await makeFile(f.client, dir, 'w4');
    const res = await f.client.write(fh, 0, Buffer.from('abc'), StableHow.FILE_SYNC, 10);
    expect(res.status).toBe(NfsStatus.INVAL);
    expect(res.wcc.before).toBeNull();
    expect(res.wcc.after!.size).toBe(0);
  });

  it('WRITE to a directory fails with wcc_data', async () => {
    const res = await f.client.write(dir, 0, Buffer.from('x'));
    expect([NfsStatus.ISDIR, NfsStatus.INVAL]).toContain(res.status);
    expect(res.wcc.after!.type).toBe(FileType.DIR);
  });

  it('a bad stable_how is GARBAGE_ARGS', async () => {
    const fh = await makeFile(f.client, dir, 'w5');
    const args = new XdrWriter().opaque(fh).u64(0).u32(1).u32(7).opaque(Buffer.from('x'));
    expect(await acceptStat(f.client.callNfs(Proc.WRITE, args))).toBe(AcceptStat.GARBAGE_ARGS);
  });

  it('more than wtmax is a short write of 1 MiB', async () => {
    const fh = await makeFile(f.client, dir, 'over');
    const res = await f.client.write(fh, 0, Buffer.alloc(MiB + 8192, 3));
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.count).toBe(MiB);
    expect(res.wcc.after!.size).toBe(MiB);
  });

  it('1 MiB round-trips through WRITE and READ', async () => {
    const fh = await makeFile(f.client, dir, 'big');
    const data = randomBytes(MiB);
    const w = await f.client.write(fh, 0, data);
    expect(w.status).toBe(NfsStatus.OK);
    expect(w.count).toBe(MiB);
    const r = await f.client.read(fh, 0, MiB);
    expect(r.status).toBe(NfsStatus.OK);
    expect(r.count).toBe(MiB);
    expect(r.eof).toBe(true);
    expect(r.data!.equals(data)).toBe(true);
  });
});

describe('WRITE from several connections at once', () => {
  it('interleaved 1 MiB WRITEs and small calls on two connections: every byte lands where it was sent', async () => {
    // the server reads every connection into one shared buffer (rpc/socket-reader.ts): what a
    // call keeps must be copied out before the next read, of this connection or another
    const other = await Nfs3Client.connect(f.server.port, f.server.host);
    try {
      await other.mountRoot(f.server.exportPath);
      const fhs = [await makeFile(f.client, dir, 'shared-a'), await makeFile(f.client, dir, 'shared-b')];
      const blocks = Array.from({ length: 8 }, () => randomBytes(MiB));
      const calls: Promise<unknown>[] = [];
      blocks.forEach((b, i) => {
        const c = i % 2 === 0 ? f.client : other;
        calls.push(
          c.write(fhs[i % 2], Math.floor(i / 2) * MiB, b).then((w) => expect(w).toMatchObject({ status: NfsStatus.OK, count: MiB })),
        );
        calls.push(c.getattr(fhs[(i + 1) % 2]).then((g) => expect(g.status).toBe(NfsStatus.OK)));
      });
      await Promise.all(calls);
      for (let i = 0; i < blocks.length; i++) {
        const r = await other.read(fhs[i % 2], Math.floor(i / 2) * MiB, MiB);
        expect(r.status).toBe(NfsStatus.OK);
        expect(r.data!.equals(blocks[i])).toBe(true);
      }
    } finally {
      await other.close();
    }
  });
});

describe('READ', () => {
  it('returns post_op_attr, count, eof and data at an offset', async () => {
    const fh = await makeFile(f.client, dir, 'r1', Buffer.from('0123456789'));
    const mid = await f.client.read(fh, 2, 3);
    expect(mid).toMatchObject({ status: NfsStatus.OK, count: 3, eof: false });
    expect(mid.data!.toString()).toBe('234');
    expect(mid.attrs!.size).toBe(10);
    const tail = await f.client.read(fh, 8, 100);
    expect(tail).toMatchObject({ count: 2, eof: true });
    const past = await f.client.read(fh, 50, 10);
    expect(past).toMatchObject({ status: NfsStatus.OK, count: 0, eof: true });
  });

  it('a count above rtmax is capped at 1 MiB', async () => {
    const fh = await makeFile(f.client, dir, 'r2', Buffer.alloc(MiB + 4096, 7));
    const r = await f.client.read(fh, 0, 4 * MiB);
    expect(r.status).toBe(NfsStatus.OK);
    expect(r.count).toBe(MiB);
    expect(r.eof).toBe(false);
  });

  it('READ of a directory fails with post_op_attr', async () => {
    const r = await f.client.read(dir, 0, 10);
    expect([NfsStatus.ISDIR, NfsStatus.INVAL]).toContain(r.status);
    expect(r.attrs!.type).toBe(FileType.DIR);
  });

  it('READ of a garbage handle is BADHANDLE with no attributes', async () => {
    const r = await f.client.read(Buffer.alloc(32, 0x5a), 0, 10);
    expect(r).toEqual({ status: NfsStatus.BADHANDLE, attrs: null });
  });
});
