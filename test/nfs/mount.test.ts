// MOUNT v3 (RFC 1813 section 5) and program dispatch over real TCP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../../rpc/client.js';
import { XdrWriter } from '../../rpc/xdr.js';
import { nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { AcceptStat, acceptStat, MountProc, MountStat, NfsStatus, FileType } from '../lib/nfs3-client.js';

let f: Fixture;
beforeAll(async () => {
  f = await nfsFixture();
});
afterAll(async () => {
  await f.close();
});

describe('MOUNT v3', () => {
  it('NULL answers with a void reply', async () => {
    await expect(f.client.mountNull()).resolves.toBeUndefined();
  });

  it('MNT of the export returns a root handle and lists AUTH_SYS among the flavors', async () => {
    const m = await f.client.mnt(f.server.exportPath);
    expect(m.status).toBe(MountStat.OK);
    expect(m.fh!.length).toBeGreaterThan(0);
    expect(m.fh!.length).toBeLessThanOrEqual(64);
    expect(m.flavors).toContain(1);
    expect(m.flavors).toContain(0);
    const attrs = await f.client.getattr(m.fh!);
    expect(attrs.status).toBe(NfsStatus.OK);
    expect(attrs.attrs!.type).toBe(FileType.DIR);
  });

  it('MNT of an unknown path is MNT3ERR_NOENT with a void body', async () => {
    const m = await f.client.mnt('/exports/sessions/no-such-session');
    expect(m).toEqual({ status: MountStat.NOENT });
  });

  it('MNT of a path over MNTPATHLEN is MNT3ERR_NAMETOOLONG', async () => {
    const m = await f.client.mnt('/' + 'x'.repeat(1100));
    expect(m).toEqual({ status: MountStat.NAMETOOLONG });
  });

  it('MNT with malformed arguments is GARBAGE_ARGS', async () => {
    // length word promises 100 bytes, only 3 follow
    const bad = Buffer.from([0, 0, 0, 100, 0x2f, 0x61, 0x62]);
    expect(await acceptStat(f.client.callMount(MountProc.MNT, bad))).toBe(AcceptStat.GARBAGE_ARGS);
  });

  it('DUMP lists the mount, UMNT removes it, UMNTALL clears the client', async () => {
    await f.client.mnt(f.server.exportPath);
    let list = await f.client.dump();
    expect(list.some((m) => m.path === f.server.exportPath)).toBe(true);
    await f.client.umnt(f.server.exportPath);
    list = await f.client.dump();
    expect(list.some((m) => m.path === f.server.exportPath)).toBe(false);
    await f.client.mnt(f.server.exportPath);
    expect((await f.client.dump()).length).toBeGreaterThan(0);
    await f.client.umntall();
    expect((await f.client.dump()).some((m) => m.path === f.server.exportPath)).toBe(false);
  });

  it('UMNT of an unknown path still answers void', async () => {
    await expect(f.client.umnt('/nowhere')).resolves.toBeUndefined();
  });

  it('EXPORT lists the export with its groups', async () => {
    const list = await f.client.exports();
    const ex = list.find((e) => e.path === f.server.exportPath);
    expect(ex).toBeDefined();
    expect(Array.isArray(ex!.groups)).toBe(true);
  });
});

describe('program dispatch', () => {
  it('NFS_ACL (100227) is PROG_UNAVAIL', async () => {
    const err = await f.client.rpc.call(100227, 3, 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).kind).toBe('accepted');
    expect((err as RpcError).stat).toBe(AcceptStat.PROG_UNAVAIL);
  });

  it('NFS version 2 is PROG_MISMATCH 3..3', async () => {
    const err = (await f.client.rpc.call(100003, 2, 0).catch((e: unknown) => e)) as RpcError;
    expect(err.stat).toBe(AcceptStat.PROG_MISMATCH);
    expect([err.low, err.high]).toEqual([3, 3]);
  });

  it('NFS procedure 22 is PROC_UNAVAIL', async () => {
    expect(await acceptStat(f.client.callNfs(22, new XdrWriter().u32(0)))).toBe(AcceptStat.PROC_UNAVAIL);
  });

  it('NFS NULL answers void', async () => {
    await expect(f.client.null()).resolves.toBeUndefined();
  });
});
