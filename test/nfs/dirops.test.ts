// LOOKUP, CREATE, MKDIR, SYMLINK, READLINK, MKNOD, REMOVE, RMDIR, RENAME, LINK (RFC 1813 3.3.3-3.3.15).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFile, nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { FileType, NfsStatus } from '../lib/nfs3-client.js';

let f: Fixture;
beforeAll(async () => {
  f = await nfsFixture();
});
afterAll(async () => {
  await f.close();
});

describe('LOOKUP', () => {
  it('finds an entry: handle, object attributes and directory attributes', async () => {
    const dir = await f.freshDir('lookup');
    const fh = await makeFile(f.client, dir, 'here');
    const res = await f.client.lookup(dir, 'here');
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.fh!.equals(fh)).toBe(true);
    expect(res.attrs!.type).toBe(FileType.REG);
    expect(res.dirAttrs!.type).toBe(FileType.DIR);
  });

  it('a missing name is NOENT carrying the directory post_op_attr', async () => {
    const dir = await f.freshDir('lookup');
    const res = await f.client.lookup(dir, 'absent');
    expect(res.status).toBe(NfsStatus.NOENT);
    expect(res.dirAttrs!.type).toBe(FileType.DIR);
    expect(res.fh).toBeUndefined();
  });

  it('LOOKUP in a regular file is NOTDIR', async () => {
    const dir = await f.freshDir('lookup');
    const fh = await makeFile(f.client, dir, 'plain');
    const res = await f.client.lookup(fh, 'x');
    expect(res.status).toBe(NfsStatus.NOTDIR);
  });

  it('"." and ".." resolve to the directory and its parent', async () => {
    const dir = await f.freshDir('lookup');
    const dot = await f.client.lookup(dir, '.');
    expect(dot.status).toBe(NfsStatus.OK);
    expect(dot.attrs!.fileid).toBe((await f.client.getattr(dir)).attrs!.fileid);
    const dotdot = await f.client.lookup(dir, '..');
    expect(dotdot.status).toBe(NfsStatus.OK);
    expect(dotdot.attrs!.fileid).toBe((await f.client.getattr(f.root)).attrs!.fileid);
  });
});

describe('CREATE', () => {
  it('UNCHECKED creates with post_op_fh3, attributes and dir wcc_data', async () => {
    const dir = await f.freshDir('create');
    const before = (await f.client.getattr(dir)).attrs!;
    const res = await f.client.create(dir, 'new', { kind: 'unchecked', attrs: { mode: 0o640 } });
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.fh).toBeInstanceOf(Buffer);
    expect(res.attrs!.type).toBe(FileType.REG);
    expect(res.attrs!.mode).toBe(0o640);
    expect(res.dirWcc.before).not.toBeNull();
    expect(res.dirWcc.before!.mtime).toEqual(before.mtime);
    expect(res.dirWcc.after!.type).toBe(FileType.DIR);
  });

  it('GUARDED over an existing name is EXIST with dir wcc_data', async () => {
    const dir = await f.freshDir('create');
    await makeFile(f.client, dir, 'taken');
    const res = await f.client.create(dir, 'taken', { kind: 'guarded', attrs: {} });
    expect(res.status).toBe(NfsStatus.EXIST);
    expect(res.dirWcc.after!.type).toBe(FileType.DIR);
    expect(res.fh).toBeUndefined();
  });

  it('EXCLUSIVE: a retransmission with the same verifier succeeds, another verifier is EXIST', async () => {
    const dir = await f.freshDir('create');
    const verf = Buffer.from('12345678');
    const first = await f.client.create(dir, 'excl', { kind: 'exclusive', verf });
    expect(first.status).toBe(NfsStatus.OK);
    const again = await f.client.create(dir, 'excl', { kind: 'exclusive', verf });
    expect(again.status).toBe(NfsStatus.OK);
    expect(again.attrs!.fileid).toBe(first.attrs!.fileid);
    const other = await f.client.create(dir, 'excl', { kind: 'exclusive', verf: Buffer.from('87654321') });
    expect(other.status).toBe(NfsStatus.EXIST);
    expect(other.dirWcc.after).not.toBeNull();
  });

  it('CREATE in a missing directory handle is STALE or BADHANDLE with empty wcc', async () => {
    const dir = await f.freshDir('create');
    const sub = (await f.client.mkdir(dir, 'gone')).fh!;
    expect((await f.client.rmdir(dir, 'gone')).status).toBe(NfsStatus.OK);
    const res = await f.client.create(sub, 'x');
    expect(res.status).toBe(NfsStatus.STALE);
    expect(res.dirWcc.before).toBeNull();
  });
});

describe('MKDIR / SYMLINK / READLINK / MKNOD', () => {
  it('MKDIR returns the new directory and dir wcc_data; a second MKDIR is EXIST', async () => {
    const dir = await f.freshDir('mkdir');
    const res = await f.client.mkdir(dir, 'sub', { mode: 0o750 });
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.attrs!.type).toBe(FileType.DIR);
    expect(res.attrs!.mode).toBe(0o750);
    expect(res.dirWcc.after!.nlink).toBe(3);
    const again = await f.client.mkdir(dir, 'sub');
    expect(again.status).toBe(NfsStatus.EXIST);
    expect(again.dirWcc.after!.type).toBe(FileType.DIR);
  });

  it('SYMLINK stores the target, READLINK returns it', async () => {
    const dir = await f.freshDir('symlink');
    const target = '../some/where/ünïcode';
    const res = await f.client.symlink(dir, 'ln', target);
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.attrs!.type).toBe(FileType.LNK);
    const rl = await f.client.readlink(res.fh!);
    expect(rl.status).toBe(NfsStatus.OK);
    expect(rl.target).toBe(target);
    expect(rl.attrs!.type).toBe(FileType.LNK);
  });

  it('READLINK of a regular file is INVAL with post_op_attr', async () => {
    const dir = await f.freshDir('symlink');
    const fh = await makeFile(f.client, dir, 'notlink');
    const rl = await f.client.readlink(fh);
    expect(rl.status).toBe(NfsStatus.INVAL);
    expect(rl.attrs!.type).toBe(FileType.REG);
  });

  it('a symlink target over 4096 bytes is NAMETOOLONG', async () => {
    const dir = await f.freshDir('symlink');
    const res = await f.client.symlink(dir, 'long', 'a'.repeat(4097));
    expect(res.status).toBe(NfsStatus.NAMETOOLONG);
    expect(res.dirWcc.after!.type).toBe(FileType.DIR);
  });

  it('MKNOD makes a FIFO; MKNOD of a regular file is BADTYPE', async () => {
    const dir = await f.freshDir('mknod');
    const fifo = await f.client.mknod(dir, 'pipe', FileType.FIFO, { mode: 0o600 });
    expect(fifo.status).toBe(NfsStatus.OK);
    expect(fifo.attrs!.type).toBe(FileType.FIFO);
    const reg = await f.client.mknod(dir, 'reg', FileType.REG);
    expect(reg.status).toBe(NfsStatus.BADTYPE);
    expect(reg.dirWcc.after!.type).toBe(FileType.DIR);
  });
});

describe('REMOVE / RMDIR', () => {
  it('REMOVE deletes the name and returns dir wcc_data', async () => {
    const dir = await f.freshDir('remove');
    await makeFile(f.client, dir, 'victim');
    const res = await f.client.remove(dir, 'victim');
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.dirWcc.before).not.toBeNull();
    expect(res.dirWcc.after!.type).toBe(FileType.DIR);
    expect((await f.client.lookup(dir, 'victim')).status).toBe(NfsStatus.NOENT);
  });

  it('REMOVE of a missing name is NOENT with dir wcc_data', async () => {
    const dir = await f.freshDir('remove');
    const res = await f.client.remove(dir, 'nothing');
    expect(res.status).toBe(NfsStatus.NOENT);
    expect(res.dirWcc.after!.type).toBe(FileType.DIR);
  });

  it('RMDIR of a non-empty directory is NOTEMPTY; of a file is NOTDIR', async () => {
    const dir = await f.freshDir('rmdir');
    const sub = (await f.client.mkdir(dir, 'full')).fh!;
    await makeFile(f.client, sub, 'x');
    await makeFile(f.client, dir, 'file');
    const full = await f.client.rmdir(dir, 'full');
    expect(full.status).toBe(NfsStatus.NOTEMPTY);
    expect(full.dirWcc.after!.type).toBe(FileType.DIR);
    expect((await f.client.rmdir(dir, 'file')).status).toBe(NfsStatus.NOTDIR);
    expect((await f.client.remove(sub, 'x')).status).toBe(NfsStatus.OK);
    const ok = await f.client.rmdir(dir, 'full');
    expect(ok.status).toBe(NfsStatus.OK);
    expect(ok.dirWcc.after!.nlink).toBe(2);
  });
});

describe('RENAME / LINK', () => {
  it('RENAME across directories returns both wcc_data', async () => {
    const a = await f.freshDir('rename');
    const b = await f.freshDir('rename');
    const fh = await makeFile(f.client, a, 'moving');
    const res = await f.client.rename(a, 'moving', b, 'moved');
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.fromWcc.before).not.toBeNull();
    expect(res.fromWcc.after!.type).toBe(FileType.DIR);
    expect(res.toWcc.after!.type).toBe(FileType.DIR);
    const found = await f.client.lookup(b, 'moved');
    expect(found.fh!.equals(fh)).toBe(true);
  });

  it('RENAME of a missing name is NOENT with both wcc_data', async () => {
    const a = await f.freshDir('rename');
    const res = await f.client.rename(a, 'ghost', a, 'other');
    expect(res.status).toBe(NfsStatus.NOENT);
    expect(res.fromWcc.after!.type).toBe(FileType.DIR);
    expect(res.toWcc.after!.type).toBe(FileType.DIR);
  });

  it('LINK adds a name: nlink 2, file attributes and dir wcc_data', async () => {
    const dir = await f.freshDir('link');
    const fh = await makeFile(f.client, dir, 'orig');
    const res = await f.client.link(fh, dir, 'alias');
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.attrs!.nlink).toBe(2);
    expect(res.dirWcc.after!.type).toBe(FileType.DIR);
    const again = await f.client.link(fh, dir, 'alias');
    expect(again.status).toBe(NfsStatus.EXIST);
    expect(again.attrs!.nlink).toBe(2);
    expect(again.dirWcc.after!.type).toBe(FileType.DIR);
  });
});
