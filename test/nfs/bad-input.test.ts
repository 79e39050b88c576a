// Malformed calls, bad handles and bad names: GARBAGE_ARGS for XDR that does not decode,
// an nfsstat3 with the right failure arm for everything else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XdrWriter } from '../../rpc/xdr.js';
import { nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { AcceptStat, acceptStat, FileType, NfsStatus, Proc } from '../lib/nfs3-client.js';

let f: Fixture;
let dir: Buffer;
beforeAll(async () => {
  f = await nfsFixture();
  dir = await f.freshDir('bad');
});
afterAll(async () => {
  await f.close();
});

describe('malformed XDR → GARBAGE_ARGS', () => {
  it('truncated or empty arguments', async () => {
    expect(await acceptStat(f.client.callNfs(Proc.GETATTR, Buffer.alloc(0)))).toBe(AcceptStat.GARBAGE_ARGS);
    // length word claims 32 bytes, 8 follow
    const short = Buffer.concat([Buffer.from([0, 0, 0, 32]), Buffer.alloc(8)]);
    expect(await acceptStat(f.client.callNfs(Proc.GETATTR, short))).toBe(AcceptStat.GARBAGE_ARGS);
    // LOOKUP without its name
    expect(await acceptStat(f.client.callNfs(Proc.LOOKUP, new XdrWriter().opaque(dir)))).toBe(AcceptStat.GARBAGE_ARGS);
    // READ without count
    expect(await acceptStat(f.client.callNfs(Proc.READ, new XdrWriter().opaque(dir).u64(0)))).toBe(AcceptStat.GARBAGE_ARGS);
  });

  it('a file handle longer than 64 bytes', async () => {
    const long = Buffer.alloc(65, 7);
    for (const proc of [Proc.GETATTR, Proc.ACCESS, Proc.READLINK, Proc.FSSTAT]) {
      const args = new XdrWriter().opaque(long).u32(0x3f);
      expect(await acceptStat(f.client.callNfs(proc, args))).toBe(AcceptStat.GARBAGE_ARGS);
    }
    const lookup = new XdrWriter().opaque(long).string('x');
    expect(await acceptStat(f.client.callNfs(Proc.LOOKUP, lookup))).toBe(AcceptStat.GARBAGE_ARGS);
  });

  it('bad enum and boolean values in sattr3 / createhow3 / ftype3 arms', async () => {
    // set_mode3 discriminant 2 is not a boolean
    const badBool = new XdrWriter().opaque(dir).u32(2);
    expect(await acceptStat(f.client.callNfs(Proc.SETATTR, badBool))).toBe(AcceptStat.GARBAGE_ARGS);
    // time_how 3 does not exist
    const badTime = new XdrWriter().opaque(dir).u32(0).u32(0).u32(0).u32(0).u32(3).u32(0).u32(0);
    expect(await acceptStat(f.client.callNfs(Proc.SETATTR, badTime))).toBe(AcceptStat.GARBAGE_ARGS);
    // createmode3 9 does not exist
    const badMode = new XdrWriter().opaque(dir).string('c').u32(9);
    expect(await acceptStat(f.client.callNfs(Proc.CREATE, badMode))).toBe(AcceptStat.GARBAGE_ARGS);
    // EXCLUSIVE with a 4-byte verifier
    const shortVerf = new XdrWriter().opaque(dir).string('c').u32(2).u32(0);
    expect(await acceptStat(f.client.callNfs(Proc.CREATE, shortVerf))).toBe(AcceptStat.GARBAGE_ARGS);
  });

  it('a name longer than the XDR cap', async () => {
    const huge = new XdrWriter().opaque(dir).string('n'.repeat(5000));
    expect(await acceptStat(f.client.callNfs(Proc.LOOKUP, huge))).toBe(AcceptStat.GARBAGE_ARGS);
  });

  it('the connection still serves calls afterwards', async () => {
    const bad = f.client.callNfs(Proc.GETATTR, Buffer.from([0, 0, 1, 0]));
    const good = f.client.getattr(dir);
    expect(await acceptStat(bad)).toBe(AcceptStat.GARBAGE_ARGS);
    expect((await good).status).toBe(NfsStatus.OK);
  });
});

describe('bad handles', () => {
  const junk = Buffer.alloc(32, 0xee);

  it('a garbage 32-byte handle is BADHANDLE on every kind of reply', async () => {
    expect(await f.client.getattr(junk)).toEqual({ status: NfsStatus.BADHANDLE });
    expect(await f.client.lookup(junk, 'x')).toEqual({ status: NfsStatus.BADHANDLE, dirAttrs: null });
    expect(await f.client.access(junk, 1)).toEqual({ status: NfsStatus.BADHANDLE, attrs: null });
    const empty = { before: null, after: null };
    expect(await f.client.setattr(junk, { mode: 0o600 })).toEqual({ status: NfsStatus.BADHANDLE, wcc: empty });
    expect(await f.client.create(junk, 'x')).toEqual({ status: NfsStatus.BADHANDLE, dirWcc: empty });
    expect(await f.client.remove(junk, 'x')).toEqual({ status: NfsStatus.BADHANDLE, dirWcc: empty });
    expect(await f.client.rename(junk, 'a', dir, 'b')).toEqual({ status: NfsStatus.BADHANDLE, fromWcc: empty, toWcc: empty });
    expect(await f.client.link(junk, dir, 'x')).toEqual({ status: NfsStatus.BADHANDLE, attrs: null, dirWcc: empty });
    expect(await f.client.readdirplus(junk)).toMatchObject({ status: NfsStatus.BADHANDLE, dirAttrs: null });
    expect(await f.client.fsinfo(junk)).toEqual({ status: NfsStatus.BADHANDLE, attrs: null });
    expect(await f.client.pathconf(junk)).toEqual({ status: NfsStatus.BADHANDLE, attrs: null });
    expect(await f.client.fsstat(junk)).toEqual({ status: NfsStatus.BADHANDLE, attrs: null });
  });

  it('an empty handle is BADHANDLE', async () => {
    expect((await f.client.getattr(Buffer.alloc(0))).status).toBe(NfsStatus.BADHANDLE);
  });

  it('a handle of a removed file is STALE', async () => {
    const c = await f.client.create(dir, 'doomed');
    await f.client.remove(dir, 'doomed');
    expect((await f.client.getattr(c.fh!)).status).toBe(NfsStatus.STALE);
  });
});

describe('bad names', () => {
  it("names containing '/' or NUL are INVAL with dir wcc_data", async () => {
    for (const name of ['a/b', 'a\0b']) {
      const c = await f.client.create(dir, name);
      expect(c.status).toBe(NfsStatus.INVAL);
      expect(c.dirWcc.after!.type).toBe(FileType.DIR);
      expect((await f.client.mkdir(dir, name)).status).toBe(NfsStatus.INVAL);
      const l = await f.client.lookup(dir, name);
      expect(l.status).toBe(NfsStatus.INVAL);
      expect(l.dirAttrs!.type).toBe(FileType.DIR);
    }
  });

  it("creating '.' or '..' is EXIST", async () => {
    for (const name of ['.', '..']) {
      const c = await f.client.create(dir, name);
      expect(c.status).toBe(NfsStatus.EXIST);
      expect(c.dirWcc.after!.type).toBe(FileType.DIR);
      expect((await f.client.mkdir(dir, name)).status).toBe(NfsStatus.EXIST);
      expect((await f.client.symlink(dir, name, 'target')).status).toBe(NfsStatus.EXIST);
    }
  });

  it("removing '.' or '..' fails", async () => {
    for (const name of ['.', '..']) {
      expect((await f.client.remove(dir, name)).status).not.toBe(NfsStatus.OK);
      expect((await f.client.rmdir(dir, name)).status).not.toBe(NfsStatus.OK);
      expect((await f.client.rename(dir, name, dir, 'x')).status).not.toBe(NfsStatus.OK);
    }
  });

  it('a 255-byte name works, 256 bytes is NAMETOOLONG', async () => {
    const ok = await f.client.create(dir, 'a'.repeat(255));
    expect(ok.status).toBe(NfsStatus.OK);
    const long = await f.client.create(dir, 'a'.repeat(256));
    expect(long.status).toBe(NfsStatus.NAMETOOLONG);
    expect(long.dirWcc.after!.type).toBe(FileType.DIR);
    const lookup = await f.client.lookup(dir, 'b'.repeat(256));
    expect(lookup.status).toBe(NfsStatus.NAMETOOLONG);
    expect(lookup.dirAttrs!.type).toBe(FileType.DIR);
    // 128 two-byte characters are 256 bytes
    expect((await f.client.mkdir(dir, 'é'.repeat(128))).status).toBe(NfsStatus.NAMETOOLONG);
    const rename = await f.client.rename(dir, 'a'.repeat(255), dir, 'c'.repeat(300));
    expect(rename.status).toBe(NfsStatus.NAMETOOLONG);
    expect(rename.toWcc.after!.type).toBe(FileType.DIR);
  });

  it('a name that is not UTF-8 is INVAL', async () => {
    const c = await f.client.create(dir, Buffer.from([0x61, 0xff, 0xfe]));
    expect(c.status).toBe(NfsStatus.INVAL);
    expect(c.dirWcc.after!.type).toBe(FileType.DIR);
  });

  it('a UTF-8 name round-trips through READDIR', async () => {
    const sub = (await f.client.mkdir(dir, 'utf8')).fh!;
    expect((await f.client.create(sub, 'café ☕')).status).toBe(NfsStatus.OK);
    const res = await f.client.readdir(sub);
    expect(res.entries!.map((e) => e.name)).toContain('café ☕');
  });

  it('an empty name is NOENT', async () => {
    expect((await f.client.lookup(dir, '')).status).toBe(NfsStatus.NOENT);
  });
});

describe('credentials', () => {
  it('AUTH_NONE calls act as nobody (65534)', async () => {
    const c = await f.client.create(dir, 'by-nobody', { kind: 'unchecked', attrs: {} }, { auth: null });
    expect(c.status).toBe(NfsStatus.OK);
    expect(c.attrs!.uid).toBe(65534);
    expect(c.attrs!.gid).toBe(65534);
  });

  it('AUTH_SYS uid/gid own what they create', async () => {
    const c = await f.client.create(
      dir,
      'by-1000',
      { kind: 'unchecked', attrs: {} },
      {
        auth: { stamp: 1, machine: 'box', uid: 1000, gid: 1001, gids: [1001, 20] },
      },
    );
    expect(c.status).toBe(NfsStatus.OK);
    expect(c.attrs!.uid).toBe(1000);
    expect(c.attrs!.gid).toBe(1001);
  });
});
