// A rebase keeps the session's export (its fsid) so that a mount survives it, without letting an old handle
// name another file (docs/architecture.md, "Handles across a rebase"), over the wire with the daemon:
//  - the root and every object of the base keep their handles; a base file's handle reads the new head's content;
//  - a handle of an object the session made still names it afterwards (renumbered.ts), with the fileid it had,
//    though the rebuilt state gives it another number and its old number to a file the other landing created
//    (constructed here: the other session's files take exactly the session's numbers): reads give the session's
//    content, a write through it lands in the session's file, never the other's;
//  - a base file the session removed stays STALE, though the head still has the number; the file made in its
//    place keeps its handle;
//  - a base file the session renamed (and wrote) while the head changed it under its old name: its handle names
//    the session's file (under a new number now), not the head's version;
//  - directory attributes change, READDIR's cookie verifier changes and an old one's cookies are BAD_COOKIE;
//  - a second rebase keeps the handles of what the first one's head brought, and of what the session made in
//    either epoch; a file the session deleted is STALE; all of it after a restart of the daemon too;
//  - hard links (a session-made file with three names, a base file with two) are one file after the rebase
//    and after landing over a head that moved again; a conflict at one name of a linked file splits it there;
//  - a base file changed on both sides: its old handle names the file with the markers; a directory the
//    session made where the other landing added a file (the head's kept): its handles are STALE;
//  - past the bound of the translation (4100 files the session made), their old handles are STALE as before
//    rebases kept handles, never another file's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nfs3Client, NfsStatus, StableHow, type Attrs } from '../lib/nfs3-client.js';
import { makeProject, testDaemon, type TestDaemon } from './helpers.js';

let t: TestDaemon;
let nfs: Nfs3Client;

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, 'nfs/rb', { 'README.md': 'readme\n', 'src/main.c': 'int main() {}\n', 'docs/a.txt': 'a\n' });
  nfs = await Nfs3Client.connect(t.d.port);
});

afterAll(async () => {
  await nfs?.close();
  await t?.close();
});

async function lookup(dir: Buffer, name: string): Promise<{ fh: Buffer; attrs: Attrs }> {
  const l = await nfs.lookup(dir, name);
  expect(l.status, `lookup ${name}`).toBe(NfsStatus.OK);
  return { fh: l.fh!, attrs: l.attrs! };
}

async function read(fh: Buffer): Promise<string> {
  const r = await nfs.read(fh, 0, 1 << 16);
  expect(r.status).toBe(NfsStatus.OK);
  return r.data!.toString();
}

async function attrs(fh: Buffer): Promise<Attrs> {
  const g = await nfs.getattr(fh);
  expect(g.status).toBe(NfsStatus.OK);
  return g.attrs!;
}

async function make(dir: Buffer, name: string, content: string): Promise<{ fh: Buffer; fileid: number }> {
  const c = await nfs.create(dir, name);
  expect(c.status, `create ${name}`).toBe(NfsStatus.OK);
  expect((await nfs.write(c.fh!, 0, Buffer.from(content), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
  return { fh: c.fh!, fileid: c.attrs!.fileid };
}

describe('rebase keeps the mount', () => {
  it('base handles survive, and handles of what the session made still name it where their numbers name other files now', async () => {
    const other = (await t.api.start({ goal: 'lands meanwhile', project: 'nfs/rb' })).session;
    const s = (await t.api.start({ goal: 'rebased under a mount', project: 'nfs/rb' })).session;
    const root = await nfs.mountRoot(s.export!);
    const rootBefore = await attrs(root);
    const readme = await lookup(root, 'README.md');
    const src = await lookup(root, 'src');
    const main = await lookup(src.fh, 'main.c');

    // the session's own files take the numbers past its base's nextIno...
    const mine: { name: string; fh: Buffer; fileid: number }[] = [];
    for (let i = 1; i <= 4; i++) mine.push({ name: `mine${i}.txt`, ...(await make(root, `mine${i}.txt`, `mine ${i}\n`)) });
    // ...and it replaces a base file: removed, made again under a new number
    expect((await nfs.remove(src.fh, 'main.c')).status).toBe(NfsStatus.OK);
    const main2 = await make(src.fh, 'main.c', 'int main() { return 1; }\n');
    // ...and renames a base file, writing through the handle it holds
    const docs = await lookup(root, 'docs');
    const a = await lookup(docs.fh, 'a.txt');
    expect((await nfs.rename(docs.fh, 'a.txt', docs.fh, 'b.txt')).status).toBe(NfsStatus.OK);
    expect((await nfs.write(a.fh, 0, Buffer.from('b\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    // a listing begun before the rebase
    const page = await nfs.readdir(root, 0n, Buffer.alloc(8), 260);
    expect(page.status).toBe(NfsStatus.OK);
    expect(page.eof).toBe(false);

    // the other session's files take the same numbers in the head it lands (both start from one base)
    const theirs = Array.from({ length: 6 }, (_, i) => ({
      path: `other${i + 1}.txt`,
      change_type: 'added' as const,
      content: `other ${i + 1}\n`,
    }));
    await t.api.land(other.session_id, {
      files: [
        ...theirs,
        { path: 'README.md', change_type: 'modified', content: 'readme v2\n' },
        { path: 'docs/a.txt', change_type: 'modified', content: 'a v2\n' },
      ],
    });
    const rb = await t.api.rebase(s.session_id);
    expect(rb.rebased).toBe(true);

    // the mount goes on: the root's handle, fsid and fileid are the same, its attributes are not
    const rootAfter = await attrs(root);
    expect(rootAfter.fsid).toBe(rootBefore.fsid);
    expect(rootAfter.fileid).toBe(rootBefore.fileid);
    expect(rootAfter.mtime).not.toEqual(rootBefore.mtime);
    expect(rootAfter.ctime).not.toEqual(rootBefore.ctime);
    // a base file's old handle reads the new head's content
    expect(await read(readme.fh)).toBe('readme v2\n');
    expect((await attrs(readme.fh)).fileid).toBe(readme.attrs.fileid);
    expect((await attrs(src.fh)).fileid).toBe(src.attrs.fileid);

    // the other session's files hold exactly the numbers the session's own files had
    const taken = new Map<number, { path: string; content: string }>();
    for (const f of theirs) taken.set((await lookup(root, f.path)).attrs.fileid, f);
    for (const m of mine) {
      const their = taken.get(m.fileid);
      expect(their, `${m.name}'s number ${m.fileid} taken`).toBeDefined();
      // the old handle names the session's file, under the fileid the client knows it by, never the other one
      const g = await attrs(m.fh);
      expect(g.fileid, m.name).toBe(m.fileid);
      expect(await read(m.fh), m.name).toBe(`mine ${m.name.slice(4, 5)}\n`);
      expect((await nfs.write(m.fh, 0, Buffer.from('M'), StableHow.FILE_SYNC)).status, m.name).toBe(NfsStatus.OK);
      // looked up again by name: a new handle (the object's new number) of the same file, with the write
      const again = await lookup(root, m.name);
      expect(again.fh.equals(m.fh)).toBe(false);
      expect(again.attrs.fileid).not.toBe(m.fileid);
      expect(await read(again.fh)).toBe(`Mine ${m.name.slice(4, 5)}\n`);
      expect(await read((await lookup(root, their!.path)).fh)).toBe(their!.content);
    }
    for (const f of theirs) expect(await read((await lookup(root, f.path)).fh)).toBe(f.content);
    // the removed base file: its old number is the head's main.c, but it named the object the session removed
    expect((await nfs.getattr(main.fh)).status).toBe(NfsStatus.STALE);
    expect((await nfs.read(main.fh, 0, 100)).status).toBe(NfsStatus.STALE);
    // the file made in its place goes on
    expect(await read(main2.fh)).toBe('int main() { return 1; }\n');
    expect(await read((await lookup(src.fh, 'main.c')).fh)).toBe('int main() { return 1; }\n');

    // the renamed file: the head's a.txt keeps the number, but the handle names the session's b.txt
    expect(await read(a.fh)).toBe('b\n');
    expect((await attrs(a.fh)).fileid).toBe(a.attrs.fileid);
    expect(await read((await lookup(docs.fh, 'b.txt')).fh)).toBe('b\n');
    expect(await read((await lookup(docs.fh, 'a.txt')).fh)).toBe('a v2\n');

    // the listing begun before: its cookies are refused (the directory was rebuilt), a new one is whole
    const cont = await nfs.readdir(root, page.entries![page.entries!.length - 1].cookie, page.verf!, 8192);
    expect(cont.status).toBe(NfsStatus.BAD_COOKIE);
    const names = (await nfs.readdirAll(root)).map((e) => e.name).sort();
    expect(names).toEqual(['.', '..', 'README.md', ...mine.map((m) => m.name), ...theirs.map((f) => f.path), 'docs', 'src'].sort());

    // a second rebase: what the first one's head brought (other1.txt) keeps its handle; so do the files the
    // session made in the first epoch (handles of both epochs), and one made in the second; mine4.txt, deleted
    // meanwhile, is STALE, and its number names another file now
    const otherFh = (await lookup(root, 'other1.txt')).fh;
    const mineNow = (await lookup(root, 'mine1.txt')).fh;
    const late = await make(root, 'late.txt', 'late\n');
    expect((await nfs.remove(root, 'mine4.txt')).status).toBe(NfsStatus.OK);
    const third = (await t.api.start({ goal: 'lands later', project: 'nfs/rb' })).session;
    await t.api.land(third.session_id, {
      files: Array.from({ length: 12 }, (_, i) => ({ path: `third${i}.txt`, change_type: 'added' as const, content: 'third\n' })),
    });
    expect((await t.api.rebase(s.session_id)).rebased).toBe(true);
    const check = async () => {
      expect(await read(otherFh)).toBe('other 1\n');
      expect(await read(readme.fh)).toBe('readme v2\n');
      expect((await attrs(root)).fsid).toBe(rootBefore.fsid);
      expect(await read(mineNow)).toBe('Mine 1\n');
      for (const m of mine.slice(0, 3)) expect(await read(m.fh), m.name).toBe(`Mine ${m.name.slice(4, 5)}\n`);
      expect((await attrs(mine[0].fh)).fileid).toBe(mine[0].fileid);
      expect(await read(late.fh)).toBe('late\n');
      expect(await read(a.fh)).toBe('b\n');
      expect((await nfs.getattr(mine[3].fh)).status).toBe(NfsStatus.STALE);
      expect((await nfs.read(mine[3].fh, 0, 100)).status).toBe(NfsStatus.STALE);
      expect(await read((await lookup(root, 'mine1.txt')).fh)).toBe('Mine 1\n');
      expect(await read((await lookup(root, 'third0.txt')).fh)).toBe('third\n');
    };
    await check();
    // the translation is the record's: a restarted daemon keeps it
    await nfs.close();
    await t.close();
    t = await testDaemon({ dataDir: t.dataDir });
    nfs = await Nfs3Client.connect(t.d.port);
    await check();
    // a write through a handle two rebases old lands in the session's file
    expect((await nfs.write(mine[1].fh, 0, Buffer.from('W'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    expect((await t.api.changes(s.session_id)).changes.map((c) => c.path).sort()).toEqual(
      ['mine1.txt', 'mine2.txt', 'mine3.txt', 'late.txt', 'docs/b.txt', 'src/main.c'].sort(),
    );
    const byName = await lookup(root, 'mine2.txt');
    expect(await read(byName.fh)).toBe('Wine 2\n');
  });
});

describe('hard links through a rebase and a landing', () => {
  it('the names of one file stay one file (nlink, fileid, a write seen through every name); conflicts', async () => {
    await makeProject(t.dataDir, 'nfs/links', {
      'README.md': 'readme\n',
      'docs/guide.md': 'guide\n',
      'shared.txt': 'shared\n',
      'both.txt': 'both\n',
    });
    const other = (await t.api.start({ goal: 'lands meanwhile', project: 'nfs/links' })).session;
    const s = (await t.api.start({ goal: 'links files', project: 'nfs/links' })).session;
    const root = await nfs.mountRoot(s.export!);
    const docs = await lookup(root, 'docs');
    // a file the session made, with three names in two directories (one the session made)
    const f = await make(root, 'f.txt', 'one\n');
    const sub = await nfs.mkdir(root, 'sub');
    expect(sub.status).toBe(NfsStatus.OK);
    expect((await nfs.link(f.fh, root, 'g.txt')).status).toBe(NfsStatus.OK);
    expect((await nfs.link(f.fh, sub.fh!, 'h.txt')).status).toBe(NfsStatus.OK);
    // a base file with a second name in a base directory
    const readme = await lookup(root, 'README.md');
    expect((await nfs.link(readme.fh, docs.fh, 'readme.link')).status).toBe(NfsStatus.OK);
    // a base file with a second name, written through it: the other landing changes it under its first name
    const shared = await lookup(root, 'shared.txt');
    expect((await nfs.link(shared.fh, root, 'alias.txt')).status).toBe(NfsStatus.OK);
    expect((await nfs.setattr(shared.fh, { size: 0 })).status).toBe(NfsStatus.OK);
    expect((await nfs.write(shared.fh, 0, Buffer.from('mine\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    // a base file given a second name, changed by the other landing (no conflict: the file is the head's)
    expect((await nfs.link((await lookup(root, 'both.txt')).fh, root, 'both.link')).status).toBe(NfsStatus.OK);
    // a base file changed on both sides (its old handle names the file with the markers), and a directory the
    // session made where the other landing adds a file (lost in the conflict: its handles are STALE)
    const guide = await lookup(docs.fh, 'guide.md');
    expect((await nfs.write(guide.fh, 0, Buffer.from('GUIDE\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    const clash = await nfs.mkdir(root, 'clash');
    const inClash = await make(clash.fh!, 'in.txt', 'in\n');

    await t.api.land(other.session_id, {
      files: [
        ...[1, 2, 3].map((i) => ({ path: `other${i}.txt`, change_type: 'added' as const, content: `other ${i}\n` })),
        { path: 'shared.txt', change_type: 'modified', content: 'theirs\n' },
        { path: 'docs/guide.md', change_type: 'modified', content: 'their guide\n' },
        { path: 'both.txt', change_type: 'modified', content: 'their both\n' },
        { path: 'clash', change_type: 'added', content: 'a file\n' },
      ],
    });
    const rb = await t.api.rebase(s.session_id);
    expect(rb.rebased).toBe(true);
    expect(rb.conflicts.map((c) => [c.path, c.resolution])).toEqual([
      ['clash', 'head'],
      ['docs/guide.md', 'markers'],
      ['shared.txt', 'markers'],
    ]);
    expect(await read(guide.fh)).toContain('<<<<<<< session\nGUIDE\n=======\ntheir guide\n');
    expect((await attrs(guide.fh)).fileid).toBe(guide.attrs.fileid);
    expect((await lookup(docs.fh, 'guide.md')).attrs.fileid).not.toBe(guide.attrs.fileid);
    for (const fh of [clash.fh!, inClash.fh]) expect((await nfs.getattr(fh)).status).toBe(NfsStatus.STALE);
    expect(await read((await lookup(root, 'clash')).fh)).toBe('a file\n');

    /** the names' attributes (by new lookups), all one file: one fileid, nlink = the number of names */
    const oneFile = async (names: [Buffer, string][]): Promise<{ fh: Buffer; attrs: Attrs }[]> => {
      const got = await Promise.all(names.map(([d, n]) => lookup(d, n)));
      for (const g of got) {
        expect(g.attrs.fileid).toBe(got[0].attrs.fileid);
        expect(g.attrs.nlink).toBe(names.length);
      }
      return got;
    };
    const subNow = (await lookup(root, 'sub')).fh;
    // a directory the session made: its old handle is the same directory (a cwd in it goes on)
    expect((await attrs(sub.fh!)).fileid).toBe(sub.attrs!.fileid);
    expect((await lookup(sub.fh!, 'h.txt')).attrs.fileid).toBe((await lookup(subNow, 'h.txt')).attrs.fileid);
    const fNames: [Buffer, string][] = [
      [root, 'f.txt'],
      [root, 'g.txt'],
      [subNow, 'h.txt'],
    ];
    let [fa, , ha] = await oneFile(fNames);
    expect((await nfs.write(ha.fh, 0, Buffer.from('two\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    for (const [d, n] of fNames) expect(await read((await lookup(d, n)).fh), n).toBe('two\n');
    // the handle held from before the rebase names the same file, with its old fileid
    expect(await read(f.fh)).toBe('two\n');
    expect(await attrs(f.fh)).toMatchObject({ fileid: f.fileid, nlink: 3 });
    expect((await nfs.write(f.fh, 0, Buffer.from('Two\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    expect(await read(fa.fh)).toBe('Two\n');
    const rNames: [Buffer, string][] = [
      [root, 'README.md'],
      [docs.fh, 'readme.link'],
    ];
    const [ra, la] = await oneFile(rNames);
    expect(ra.attrs.fileid).toBe(readme.attrs.fileid);
    expect((await nfs.write(la.fh, 0, Buffer.from('README\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    expect(await read(readme.fh)).toBe('README\n');
    // the conflicted name holds the markers; the session's content stays under the other name, which is a
    // file of its own now (the link is split where the head's change met the session's)
    expect(await read((await lookup(root, 'shared.txt')).fh)).toContain('<<<<<<< session\nmine\n=======\ntheirs\n');
    expect(await read((await lookup(root, 'alias.txt')).fh)).toBe('mine\n');
    expect((await lookup(root, 'alias.txt')).attrs.nlink).toBe(1);
    const bNames: [Buffer, string][] = [
      [root, 'both.txt'],
      [root, 'both.link'],
    ];
    const [ba] = await oneFile(bNames);
    expect(await read(ba.fh)).toBe('their both\n');

    // landed over a head that moved again (the merge renumbers the session's objects): still one file each
    const third = (await t.api.start({ goal: 'lands before', project: 'nfs/links' })).session;
    await t.api.land(third.session_id, { files: [{ path: 'third.txt', change_type: 'added', content: 'third\n' }] });
    expect((await t.api.land(s.session_id, { message: 'links' })).session.status).toBe('landed');
    const after = (await t.api.start({ goal: 'reads the landing', project: 'nfs/links' })).session;
    const root2 = await nfs.mountRoot(after.export!);
    const docs2 = (await lookup(root2, 'docs')).fh;
    const f2: [Buffer, string][] = [
      [root2, 'f.txt'],
      [root2, 'g.txt'],
      [(await lookup(root2, 'sub')).fh, 'h.txt'],
    ];
    [fa, , ha] = await oneFile(f2);
    expect(await read(fa.fh)).toBe('Two\n');
    const [r2] = await oneFile([
      [root2, 'README.md'],
      [docs2, 'readme.link'],
    ]);
    expect(await read(r2.fh)).toBe('README\n');
    const [b2] = await oneFile([
      [root2, 'both.txt'],
      [root2, 'both.link'],
    ]);
    expect(await read(b2.fh)).toBe('their both\n');
    // and the landed file is one file in the new session too: a write through one name shows through the others
    expect((await nfs.write(ha.fh, 0, Buffer.from('new\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    expect(await read((await lookup(root2, 'g.txt')).fh)).toBe('new\n');
  });
});

describe('past the bound of renumbered handles', () => {
  it("old handles of the session's own files are STALE (never another file), the mount goes on", async () => {
    await makeProject(t.dataDir, 'nfs/many', { 'README.md': 'readme\n' });
    const other = (await t.api.start({ goal: 'lands meanwhile', project: 'nfs/many' })).session;
    const s = (await t.api.start({ goal: 'makes many files', project: 'nfs/many' })).session;
    const root = await nfs.mountRoot(s.export!);
    const rootAttrs = await attrs(root);
    // more files than the record keeps translations for (rebase.ts MAX_RENUMBERED)
    const fhs: Buffer[] = [];
    for (let i = 0; i < 4100; i += 100) {
      const made = await Promise.all(Array.from({ length: 100 }, (_, k) => nfs.create(root, `f${i + k}`)));
      for (const c of made) expect(c.status).toBe(NfsStatus.OK);
      fhs.push(...made.map((c) => c.fh!));
    }
    expect((await nfs.write(fhs[0], 0, Buffer.from('first\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    const f0 = (await attrs(fhs[0])).fileid;
    await t.api.land(other.session_id, { files: [{ path: 'o.txt', change_type: 'added', content: 'theirs\n' }] });
    expect((await t.api.rebase(s.session_id)).rebased).toBe(true);
    // the other session's file has f0's number; f0's old handle names neither: STALE
    expect((await lookup(root, 'o.txt')).attrs.fileid).toBe(f0);
    for (const fh of [fhs[0], fhs[4099]]) {
      expect((await nfs.getattr(fh)).status).toBe(NfsStatus.STALE);
      expect((await nfs.read(fh, 0, 100)).status).toBe(NfsStatus.STALE);
    }
    expect((await attrs(root)).fsid).toBe(rootAttrs.fsid);
    expect(await read((await lookup(root, 'f0')).fh)).toBe('first\n');
    expect(await read((await lookup(root, 'o.txt')).fh)).toBe('theirs\n');
  });
});
