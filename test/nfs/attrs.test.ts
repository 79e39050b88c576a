// GETATTR, SETATTR, ACCESS, FSSTAT, FSINFO, PATHCONF, COMMIT (RFC 1813 3.3.1-3.3.4, 3.3.18-3.3.21).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFile, nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { authSys, FileType, NfsStatus, StableHow } from '../lib/nfs3-client.js';

let f: Fixture;
let dir: Buffer;
beforeAll(async () => {
  f = await nfsFixture();
  dir = await f.freshDir('attrs');
});
afterAll(async () => {
  await f.close();
});

const ALL_ACCESS = 0x3f;

describe('GETATTR', () => {
  it('returns a full fattr3 for the root', async () => {
    const res = await f.client.getattr(f.root);
    expect(res.status).toBe(NfsStatus.OK);
    const a = res.attrs!;
    expect(a.type).toBe(FileType.DIR);
    expect(a.nlink).toBeGreaterThanOrEqual(2);
    expect(a.fileid).toBeGreaterThan(0);
    expect(a.mtime.nsec).toBeLessThan(1e9);
  });

  it('a file reports its size and the same fsid as the root', async () => {
    const fh = await makeFile(f.client, dir, 'sized', Buffer.alloc(1234, 1));
    const [file, root] = await Promise.all([f.client.getattr(fh), f.client.getattr(f.root)]);
    expect(file.attrs!.type).toBe(FileType.REG);
    expect(file.attrs!.size).toBe(1234);
    expect(file.attrs!.fsid).toBe(root.attrs!.fsid);
    expect(file.attrs!.fileid).not.toBe(root.attrs!.fileid);
  });
});

describe('SETATTR', () => {
  it('sets mode, size and client times, returning wcc_data', async () => {
    const fh = await makeFile(f.client, dir, 'set1', Buffer.alloc(100, 2));
    const res = await f.client.setattr(fh, {
      mode: 0o600,
      size: 10,
      atime: { sec: 1000, nsec: 5 },
      mtime: { sec: 2000, nsec: 7 },
    });
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.wcc.before!.size).toBe(100);
    const after = res.wcc.after!;
    expect(after.mode).toBe(0o600);
    expect(after.size).toBe(10);
    expect(after.atime).toEqual({ sec: 1000, nsec: 5 });
    expect(after.mtime).toEqual({ sec: 2000, nsec: 7 });
  });

  it('a SETATTR that sets nothing changes nothing, not even ctime; setting the same mode still changes ctime', async () => {
    const fh = await makeFile(f.client, dir, 'noop', Buffer.alloc(10, 3));
    const was = (await f.client.getattr(fh)).attrs!;
    const none = await f.client.setattr(fh, {});
    expect(none.status).toBe(NfsStatus.OK);
    // wcc_data (RFC 1813 2.6): before and after both present, and equal
    expect(none.wcc.before).toEqual({ size: 10, mtime: was.mtime, ctime: was.ctime });
    expect(none.wcc.after).toEqual(was);
    expect((await f.client.getattr(fh)).attrs).toEqual(was);
    // chmod to the mode it already has marks ctime for update (POSIX chmod; Linux does so too)
    const same = await f.client.setattr(fh, { mode: was.mode });
    expect(same.status).toBe(NfsStatus.OK);
    expect(same.wcc.before!.ctime).toEqual(was.ctime);
    expect(same.wcc.after!.mode).toBe(was.mode);
    expect(same.wcc.after!.ctime).not.toEqual(was.ctime);
    expect(same.wcc.after!.mtime).toEqual(was.mtime);
  });

  it('SET_TO_SERVER_TIME sets a current mtime', async () => {
    const fh = await makeFile(f.client, dir, 'set2');
    await f.client.setattr(fh, { mtime: { sec: 5, nsec: 0 } });
    const res = await f.client.setattr(fh, { mtime: 'server' });
    expect(res.status).toBe(NfsStatus.OK);
    expect(Math.abs(res.wcc.after!.mtime.sec - Date.now() / 1000)).toBeLessThan(120);
  });

  it('a ctime guard that matches succeeds, a stale one is NOT_SYNC with wcc_data', async () => {
    const fh = await makeFile(f.client, dir, 'guarded');
    const ctime = (await f.client.getattr(fh)).attrs!.ctime;
    const ok = await f.client.setattr(fh, { mode: 0o640 }, ctime);
    expect(ok.status).toBe(NfsStatus.OK);
    const stale = await f.client.setattr(fh, { mode: 0o600 }, ctime);
    expect(stale.status).toBe(NfsStatus.NOT_SYNC);
    expect(stale.wcc.after).not.toBeNull();
    expect(stale.wcc.after!.mode).toBe(0o640);
  });

  it('setting the size of a directory fails with wcc_data', async () => {
    const res = await f.client.setattr(dir, { size: 0 });
    expect([NfsStatus.ISDIR, NfsStatus.INVAL]).toContain(res.status);
    expect(res.wcc.after!.type).toBe(FileType.DIR);
  });
});

describe('ACCESS', () => {
  it('root gets read/modify/lookup on a directory, with post_op_attr', async () => {
    const res = await f.client.access(dir, ALL_ACCESS);
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.attrs!.type).toBe(FileType.DIR);
    expect(res.access! & 0x7).toBe(0x7);
    expect(res.access! & ~ALL_ACCESS).toBe(0);
  });

  it('returns only bits that were asked for', async () => {
    const res = await f.client.access(dir, 0x1);
    expect(res.access).toBe(0x1);
  });

  it('a stranger gets no MODIFY on a 0644 file owned by root', async () => {
    const fh = await makeFile(f.client, dir, 'ro');
    const res = await f.client.access(fh, ALL_ACCESS, { auth: authSys(4242, 4242) });
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.access! & 0x1).toBe(0x1); // READ
    expect(res.access! & 0x4).toBe(0); // MODIFY
  });
});

describe('FSSTAT / FSINFO / PATHCONF', () => {
  it('FSSTAT returns post_op_attr and sane counters', async () => {
    const res = await f.client.fsstat(f.root);
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.attrs!.type).toBe(FileType.DIR);
    expect(res.tbytes!).toBeGreaterThanOrEqual(res.fbytes!);
    expect(res.fbytes!).toBeGreaterThanOrEqual(res.abytes!);
    expect(res.tfiles!).toBeGreaterThanOrEqual(res.ffiles!);
  });

  it('FSINFO advertises the transfer sizes and properties', async () => {
    const res = await f.client.fsinfo(f.root);
    expect(res.status).toBe(NfsStatus.OK);
    expect(res).toMatchObject({
      rtmax: 1048576,
      rtpref: 1048576,
      rtmult: 4096,
      wtmax: 1048576,
      wtpref: 1048576,
      wtmult: 4096,
      dtpref: 65536,
      timeDelta: { sec: 0, nsec: 1 },
      properties: 0x1 | 0x2 | 0x8 | 0x10,
    });
    expect(res.maxfilesize!).toBeGreaterThan(2 ** 31);
    expect(res.attrs!.type).toBe(FileType.DIR);
  });

  it('PATHCONF reports the name and link limits', async () => {
    const res = await f.client.pathconf(f.root);
    expect(res).toMatchObject({
      status: NfsStatus.OK,
      linkmax: 32000,
      nameMax: 255,
      noTrunc: true,
      chownRestricted: true,
      caseInsensitive: false,
      casePreserving: true,
    });
  });
});

describe('COMMIT', () => {
  it('returns wcc_data and the same verifier as WRITE', async () => {
    const fh = await makeFile(f.client, dir, 'commit');
    const w = await f.client.write(fh, 0, Buffer.from('hello'), StableHow.UNSTABLE);
    expect(w.status).toBe(NfsStatus.OK);
    const c = await f.client.commit(fh, 0, 0);
    expect(c.status).toBe(NfsStatus.OK);
    expect(c.wcc.after!.size).toBe(5);
    expect(c.verf!.length).toBe(8);
    expect(c.verf!.equals(w.verf!)).toBe(true);
  });

  it('COMMIT of a garbage handle fails with empty wcc_data', async () => {
    const c = await f.client.commit(Buffer.alloc(32, 0xab));
    expect(c.status).toBe(NfsStatus.BADHANDLE);
    expect(c.wcc).toEqual({ before: null, after: null });
  });
});
