// Rights over the wire (issue 8, items 12 and 13): owners of new objects follow SETATTR's rules, the
// sticky bit of 01777 directories, setuid/setgid cleared on write and truncate, as Linux does.
// Callers are AUTH_SYS non-root users (and AUTH_NONE), talking to the real daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFile, nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { authSys, FileType, NfsStatus, StableHow } from '../lib/nfs3-client.js';

let f: Fixture;
beforeAll(async () => {
  f = await nfsFixture();
});
afterAll(async () => {
  await f.close();
});

const alice = { auth: authSys(1000, 1000) };
const bob = { auth: authSys(2000, 2000, [50]) };
const none = { auth: null };

async function attrs(fh: Buffer) {
  const r = await f.client.getattr(fh);
  expect(r.status).toBe(NfsStatus.OK);
  return r.attrs!;
}

async function absent(dir: Buffer, name: string): Promise<void> {
  expect((await f.client.lookup(dir, name)).status).toBe(NfsStatus.NOENT);
}

describe("item 12: CREATE, MKDIR, SYMLINK and MKNOD apply SETATTR's rules to sattr3 uid and gid", () => {
  it('a non-root caller cannot create a root-owned setuid file, directory, symlink or node', async () => {
    const dir = await f.freshDir('own');
    const root = { uid: 0, gid: 0 };
    expect((await f.client.create(dir, 'suid', { kind: 'unchecked', attrs: { mode: 0o4755, ...root } }, alice)).status).toBe(
      NfsStatus.PERM,
    );
    expect((await f.client.create(dir, 'guarded', { kind: 'guarded', attrs: { uid: 0 } }, alice)).status).toBe(NfsStatus.PERM);
    expect((await f.client.mkdir(dir, 'd', { mode: 0o755, uid: 0 }, alice)).status).toBe(NfsStatus.PERM);
    expect((await f.client.symlink(dir, 'l', 'target', { uid: 0 }, alice)).status).toBe(NfsStatus.PERM);
    expect((await f.client.mknod(dir, 'p', FileType.FIFO, { mode: 0o644, uid: 0 }, [0, 0], alice)).status).toBe(NfsStatus.PERM);
    for (const n of ['suid', 'guarded', 'd', 'l', 'p']) await absent(dir, n);
  });

  it("AUTH_NONE (nobody) cannot create root-owned files either, and what it creates is nobody's", async () => {
    const dir = await f.freshDir('none');
    expect((await f.client.create(dir, 'x', { kind: 'unchecked', attrs: { mode: 0o4755, uid: 0, gid: 0 } }, none)).status).toBe(
      NfsStatus.PERM,
    );
    await absent(dir, 'x');
    const ok = await f.client.create(dir, 'y', { kind: 'unchecked', attrs: { mode: 0o644 } }, none);
    expect(ok.status).toBe(NfsStatus.OK);
    expect(ok.attrs).toMatchObject({ uid: 65534, gid: 65534 });
  });

  it('a group the caller is not in is refused; its own ids and supplementary groups are accepted', async () => {
    const dir = await f.freshDir('grp');
    expect((await f.client.create(dir, 'g0', { kind: 'unchecked', attrs: { gid: 0 } }, bob)).status).toBe(NfsStatus.PERM);
    expect((await f.client.mkdir(dir, 'g0d', { gid: 0 }, bob)).status).toBe(NfsStatus.PERM);
    const mine = await f.client.create(dir, 'mine', { kind: 'unchecked', attrs: { mode: 0o4755, uid: 2000, gid: 50 } }, bob);
    expect(mine.status).toBe(NfsStatus.OK);
    expect(mine.attrs).toMatchObject({ uid: 2000, gid: 50, mode: 0o4755 });
    const plain = await f.client.create(dir, 'plain', { kind: 'unchecked', attrs: { mode: 0o644 } }, bob);
    expect(plain.attrs).toMatchObject({ uid: 2000, gid: 2000 });
  });

  it('root may create for another owner', async () => {
    const dir = await f.freshDir('root');
    const r = await f.client.create(dir, 'theirs', { kind: 'unchecked', attrs: { mode: 0o600, uid: 1000, gid: 1000 } });
    expect(r.attrs).toMatchObject({ uid: 1000, gid: 1000 });
  });

  it('a setgid directory gives new objects its group, and new directories its setgid bit', async () => {
    const dir = await f.freshDir('sgid');
    expect((await f.client.setattr(dir, { mode: 0o2777, gid: 50 })).status).toBe(NfsStatus.OK);
    const file = await f.client.create(dir, 'f', { kind: 'unchecked', attrs: { mode: 0o2755 } }, alice);
    // alice is not in group 50: the file is the directory's group, without a setgid bit she could not set
    expect(file.attrs).toMatchObject({ uid: 1000, gid: 50, mode: 0o755 });
    const sub = await f.client.mkdir(dir, 'sub', { mode: 0o755 }, alice);
    expect(sub.attrs).toMatchObject({ uid: 1000, gid: 50, mode: 0o2755 });
  });
});

describe('item 13: the sticky bit', () => {
  async function stickyDir(): Promise<Buffer> {
    const dir = await f.freshDir('sticky');
    expect((await f.client.setattr(dir, { mode: 0o1777 })).status).toBe(NfsStatus.OK);
    return dir;
  }

  it("REMOVE of another user's file in a 01777 directory is refused; the owner may", async () => {
    const dir = await stickyDir();
    expect((await f.client.create(dir, 'a', { kind: 'unchecked', attrs: { mode: 0o666 } }, alice)).status).toBe(NfsStatus.OK);
    expect((await f.client.remove(dir, 'a', bob)).status).toBe(NfsStatus.PERM);
    expect((await f.client.lookup(dir, 'a')).status).toBe(NfsStatus.OK);
    expect((await f.client.remove(dir, 'a', alice)).status).toBe(NfsStatus.OK);
  });

  it("the directory's owner and root may remove anything in it", async () => {
    const dir = await f.freshDir('sticky-own');
    expect((await f.client.setattr(dir, { mode: 0o1777, uid: 2000 })).status).toBe(NfsStatus.OK);
    await f.client.create(dir, 'a', { kind: 'unchecked', attrs: { mode: 0o666 } }, alice);
    await f.client.create(dir, 'b', { kind: 'unchecked', attrs: { mode: 0o666 } }, alice);
    expect((await f.client.remove(dir, 'a', bob)).status).toBe(NfsStatus.OK);
    expect((await f.client.remove(dir, 'b')).status).toBe(NfsStatus.OK);
  });

  it("RMDIR of another user's directory is refused", async () => {
    const dir = await stickyDir();
    expect((await f.client.mkdir(dir, 'd', { mode: 0o777 }, alice)).status).toBe(NfsStatus.OK);
    expect((await f.client.rmdir(dir, 'd', bob)).status).toBe(NfsStatus.PERM);
    expect((await f.client.rmdir(dir, 'd', alice)).status).toBe(NfsStatus.OK);
  });

  it("RENAME may neither move another user's file out nor replace another user's file", async () => {
    const dir = await stickyDir();
    const other = await f.freshDir('plain');
    await f.client.create(dir, 'a', { kind: 'unchecked', attrs: { mode: 0o666 } }, alice);
    await f.client.create(dir, 'b', { kind: 'unchecked', attrs: { mode: 0o666 } }, bob);
    expect((await f.client.rename(dir, 'a', other, 'stolen', bob)).status).toBe(NfsStatus.PERM);
    expect((await f.client.rename(dir, 'a', dir, 'a2', bob)).status).toBe(NfsStatus.PERM);
    expect((await f.client.rename(dir, 'b', dir, 'a', bob)).status).toBe(NfsStatus.PERM);
    expect((await f.client.lookup(dir, 'a')).attrs).toMatchObject({ uid: 1000 });
    expect((await f.client.lookup(dir, 'b')).attrs).toMatchObject({ uid: 2000 });
    expect((await f.client.rename(dir, 'b', dir, 'b2', bob)).status).toBe(NfsStatus.OK);
    // onto itself, or onto another name of the same file: nothing to do, so nothing refused (as Linux)
    expect((await f.client.link((await f.client.lookup(dir, 'a')).fh!, dir, 'a-link')).status).toBe(NfsStatus.OK);
    expect((await f.client.rename(dir, 'a', dir, 'a', bob)).status).toBe(NfsStatus.OK);
    expect((await f.client.rename(dir, 'a', dir, 'a-link', bob)).status).toBe(NfsStatus.OK);
    expect((await f.client.lookup(dir, 'a')).status).toBe(NfsStatus.OK);
  });
});

describe('item 13: setuid and setgid are cleared as Linux clears them', () => {
  async function privFile(name: string, mode: number): Promise<Buffer> {
    const dir = await f.freshDir('priv');
    const fh = await makeFile(f.client, dir, name, Buffer.from('data'));
    expect((await f.client.setattr(fh, { uid: 1000, gid: 1000 })).status).toBe(NfsStatus.OK);
    expect((await f.client.setattr(fh, { mode })).status).toBe(NfsStatus.OK);
    expect((await attrs(fh)).mode).toBe(mode);
    return fh;
  }

  it('a WRITE by a non-owner clears setuid and setgid (group execute on)', async () => {
    const fh = await privFile('w', 0o6777);
    expect((await f.client.write(fh, 0, Buffer.from('x'), StableHow.FILE_SYNC, 1, bob)).status).toBe(NfsStatus.OK);
    expect((await attrs(fh)).mode).toBe(0o777);
  });

  it('a WRITE by the (non-root) owner clears them too; setgid stays without group execute', async () => {
    const fh = await privFile('o', 0o6744);
    expect((await f.client.write(fh, 0, Buffer.from('x'), StableHow.UNSTABLE, 1, alice)).status).toBe(NfsStatus.OK);
    expect((await attrs(fh)).mode).toBe(0o2744);
  });

  it('a truncate by a non-owner clears them', async () => {
    const fh = await privFile('t', 0o6777);
    expect((await f.client.setattr(fh, { size: 1 }, null, bob)).status).toBe(NfsStatus.OK);
    const a = await attrs(fh);
    expect(a.mode).toBe(0o777);
    expect(a.size).toBe(1);
  });

  it('root writing keeps them', async () => {
    const fh = await privFile('r', 0o6755);
    expect((await f.client.write(fh, 0, Buffer.from('x'))).status).toBe(NfsStatus.OK);
    expect((await attrs(fh)).mode).toBe(0o6755);
  });

  it('a chown clears them (for root too), as knfsd does', async () => {
    const fh = await privFile('ch', 0o6755);
    expect((await f.client.setattr(fh, { uid: 2000 })).status).toBe(NfsStatus.OK);
    expect((await attrs(fh)).mode).toBe(0o755);
    const keep = await privFile('ch2', 0o6745);
    expect((await f.client.setattr(keep, { gid: 50 })).status).toBe(NfsStatus.OK);
    expect((await attrs(keep)).mode).toBe(0o2745);
  });

  it('a chmod by the owner to a setgid bit of a group it is not in drops that bit', async () => {
    const fh = await privFile('c', 0o755);
    expect((await f.client.setattr(fh, { gid: 50 })).status).toBe(NfsStatus.OK);
    expect((await f.client.setattr(fh, { mode: 0o2755 }, null, alice)).status).toBe(NfsStatus.OK);
    expect((await attrs(fh)).mode).toBe(0o755);
  });
});
