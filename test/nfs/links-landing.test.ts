// Over the wire, through landings (issue 8): hard links keep one inode and the right nlink in the next
// session (item 4); device nodes, fifos and sockets are stored in the tree (section 4); a suspended
// session's export is read-only (item 17). The daemon runs in-process with its HTTP API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, tempDir, testDaemon, type TestDaemon } from '../session/helpers.js';
import { ACCESS } from '../../src/fs/file-system.js';
import { authSys, FileType, Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';

let t: TestDaemon;
let c: Nfs3Client;
beforeAll(async () => {
  const dataDir = await tempDir('micfs-links-');
  await makeProject(dataDir, 'links/p', { 'a.txt': 'hello\n', 'keep.txt': 'keep\n' });
  t = await testDaemon({ dataDir });
  c = await Nfs3Client.connect(t.d.port);
});
afterAll(async () => {
  await c?.close();
  await t?.close();
});

async function mountNew(goal: string): Promise<{ id: string; root: Buffer }> {
  const s = (await t.api.start({ goal, project: 'links/p' })).session;
  return { id: s.session_id, root: await c.mountRoot(s.export!) };
}

async function look(dir: Buffer, ...names: string[]) {
  let fh = dir;
  let attrs;
  for (const n of names) {
    const r = await c.lookup(fh, n);
    expect(r.status, `lookup ${names.join('/')}`).toBe(NfsStatus.OK);
    fh = r.fh!;
    attrs = r.attrs!;
  }
  return { fh, attrs: attrs! };
}

async function text(fh: Buffer): Promise<string> {
  const r = await c.read(fh, 0, 1 << 16);
  expect(r.status).toBe(NfsStatus.OK);
  return r.data!.toString();
}

describe('item 4: hard links survive landing', () => {
  it('both names load as one inode with nlink 2; REMOVE of one leaves the other; landing keeps it', async () => {
    const s1 = await mountNew('link');
    const a = await look(s1.root, 'a.txt');
    const d = await c.mkdir(s1.root, 'd', { mode: 0o755 });
    expect(d.status).toBe(NfsStatus.OK);
    expect((await c.link(a.fh, d.fh!, 'b.txt')).attrs).toMatchObject({ nlink: 2 });
    const n = await c.create(s1.root, 'new.txt', { kind: 'unchecked', attrs: { mode: 0o644 } });
    expect((await c.write(n.fh!, 0, Buffer.from('new\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    expect((await c.link(n.fh!, d.fh!, 'new2.txt')).status).toBe(NfsStatus.OK);
    expect((await c.link(n.fh!, s1.root, 'new3.txt')).attrs).toMatchObject({ nlink: 3 });
    const e = await c.mkdir(s1.root, 'e', { mode: 0o755 });
    expect((await c.link(n.fh!, e.fh!, 'new4.txt')).attrs).toMatchObject({ nlink: 4 });
    await t.api.land(s1.id);

    const s2 = await mountNew('after link');
    const [a2, b2] = [await look(s2.root, 'a.txt'), await look(s2.root, 'd', 'b.txt')];
    expect(a2.attrs.fileid).toBe(b2.attrs.fileid);
    expect(a2.attrs.nlink).toBe(2);
    expect(b2.attrs.nlink).toBe(2);
    const [n1, n2, n3] = [await look(s2.root, 'new.txt'), await look(s2.root, 'd', 'new2.txt'), await look(s2.root, 'new3.txt')];
    expect(new Set([n1.attrs.fileid, n2.attrs.fileid, n3.attrs.fileid]).size).toBe(1);
    expect(n3.attrs.nlink).toBe(4);
    expect(n2.attrs.nlink).toBe(4);
    // one inode: a write through one name is read through the other
    expect((await c.write(n3.fh, 0, Buffer.from('NEW\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    expect(await text(n1.fh)).toBe('NEW\n');

    expect((await c.remove(s2.root, 'a.txt')).status).toBe(NfsStatus.OK);
    expect(await text(b2.fh)).toBe('hello\n');
    expect((await c.getattr(b2.fh)).attrs).toMatchObject({ nlink: 1 });
    expect((await c.remove((await look(s2.root, 'd')).fh, 'new2.txt')).status).toBe(NfsStatus.OK);
    await t.api.land(s2.id);

    const s3 = await mountNew('after remove');
    expect((await c.lookup(s3.root, 'a.txt')).status).toBe(NfsStatus.NOENT);
    const b3 = await look(s3.root, 'd', 'b.txt');
    expect(b3.attrs.nlink).toBe(1);
    expect(await text(b3.fh)).toBe('hello\n');
    const [m1, m3] = [await look(s3.root, 'new.txt'), await look(s3.root, 'new3.txt')];
    expect(m1.attrs.fileid).toBe(m3.attrs.fileid);
    expect(m1.attrs.nlink).toBe(3);
    expect(await text(m3.fh)).toBe('NEW\n');
    expect((await look(s3.root, 'keep.txt')).attrs.nlink).toBe(1);
    // a write through one name, while the directory of another name is never listed in the session
    expect((await c.write(m1.fh, 0, Buffer.from('third'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    await t.api.land(s3.id);

    const s4 = await mountNew('after write');
    const far = await look(s4.root, 'e', 'new4.txt');
    expect(await text(far.fh)).toBe('third');
    expect(far.attrs.nlink).toBe(3);
  });
  it('a write through one name reaches a name in a directory the session never listed', async () => {
    const s1 = await mountNew('far names');
    const e = await c.mkdir(s1.root, 'far-e', { mode: 0o755 });
    const g = await c.mkdir(s1.root, 'far-f', { mode: 0o755 });
    const x = await c.create(e.fh!, 'x.txt', { kind: 'unchecked', attrs: { mode: 0o644 } });
    expect((await c.write(x.fh!, 0, Buffer.from('one'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    expect((await c.link(x.fh!, g.fh!, 'y.txt')).status).toBe(NfsStatus.OK);
    await t.api.land(s1.id);

    const s2 = await mountNew('write one name');
    const x2 = await look(s2.root, 'far-e', 'x.txt');
    expect((await c.write(x2.fh, 0, Buffer.from('two'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    await t.api.land(s2.id);

    const s3 = await mountNew('read the other');
    const y3 = await look(s3.root, 'far-f', 'y.txt');
    expect(await text(y3.fh)).toBe('two');
    expect(y3.attrs.nlink).toBe(2);
  });
});

describe('item 4: hard links through a three-way merge', () => {
  it('a link made while another session landed first keeps one inode in the merged head', async () => {
    const sA = await mountNew('link, lands second');
    const sB = await mountNew('lands first');
    const keep = await look(sA.root, 'keep.txt');
    expect((await c.link(keep.fh, sA.root, 'keep-link.txt')).attrs).toMatchObject({ nlink: 2 });
    expect((await c.create(sB.root, 'other.txt', { kind: 'unchecked', attrs: { mode: 0o644 } })).status).toBe(NfsStatus.OK);
    await t.api.land(sB.id);
    await t.api.land(sA.id); // merged with the head sB made

    const s3 = await mountNew('after merge');
    const [k, l] = [await look(s3.root, 'keep.txt'), await look(s3.root, 'keep-link.txt')];
    expect(l.attrs.fileid).toBe(k.attrs.fileid);
    expect(k.attrs.nlink).toBe(2);
    expect(await text(l.fh)).toBe('keep\n');
    await look(s3.root, 'other.txt');
  });
});

describe('section 4: device nodes, fifos and sockets are stored in the tree', () => {
  it('MKNOD of chr, blk, fifo and sock: attributes and rdev survive landing', async () => {
    const s1 = await mountNew('nodes');
    const nodes: [string, FileType, [number, number]][] = [
      ['tty', FileType.CHR, [4, 64]],
      ['disk', FileType.BLK, [8, 1]],
      ['pipe', FileType.FIFO, [0, 0]],
      ['sock', FileType.SOCK, [0, 0]],
    ];
    for (const [name, type, rdev] of nodes) {
      const r = await c.mknod(s1.root, name, type, { mode: 0o640 }, rdev);
      expect(r.status, name).toBe(NfsStatus.OK);
      expect(r.attrs).toMatchObject({ type, mode: 0o640, rdev });
    }
    // only root makes device nodes (CAP_MKNOD)
    const open = await c.mkdir(s1.root, 'open', { mode: 0o777 });
    expect((await c.mknod(open.fh!, 'evil', FileType.CHR, { mode: 0o666 }, [1, 1], { auth: authSys(1000, 1000) })).status).toBe(
      NfsStatus.PERM,
    );
    await t.api.land(s1.id);

    const s2 = await mountNew('after nodes');
    for (const [name, type, rdev] of nodes) {
      expect((await look(s2.root, name)).attrs, name).toMatchObject({ type, mode: 0o640, rdev, nlink: 1 });
    }
  });
});

describe('item 17: a suspended session is read-only over NFS', () => {
  it('ROFS while suspended (also after a restart), writable again after resume', async () => {
    const s = await mountNew('suspend');
    const f = await c.create(s.root, 'f.txt', { kind: 'unchecked', attrs: { mode: 0o644 } });
    expect((await c.write(f.fh!, 0, Buffer.from('before\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    await t.api.suspend(s.id);

    const refused = async () => {
      expect((await c.write(f.fh!, 0, Buffer.from('x'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.ROFS);
      expect((await c.create(s.root, 'g.txt', { kind: 'unchecked', attrs: {} })).status).toBe(NfsStatus.ROFS);
      expect((await c.setattr(f.fh!, { mode: 0o600 })).status).toBe(NfsStatus.ROFS);
      expect((await c.remove(s.root, 'f.txt')).status).toBe(NfsStatus.ROFS);
      expect((await c.mkdir(s.root, 'd', {})).status).toBe(NfsStatus.ROFS);
      expect((await c.rename(s.root, 'f.txt', s.root, 'h.txt')).status).toBe(NfsStatus.ROFS);
      expect((await c.access(f.fh!, ACCESS.MODIFY | ACCESS.READ)).access).toBe(ACCESS.READ);
      expect(await text(f.fh!)).toBe('before\n');
    };
    await refused();

    await c.close();
    const dataDir = t.dataDir;
    await t.d.close();
    t = await testDaemon({ dataDir });
    c = await Nfs3Client.connect(t.d.port);
    await refused();

    await t.api.resume(s.id);
    expect((await c.write(f.fh!, 0, Buffer.from('after\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    expect((await c.create(s.root, 'g.txt', { kind: 'unchecked', attrs: {} })).status).toBe(NfsStatus.OK);
  });
});
