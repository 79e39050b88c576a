// An ended session's export: gone from EXPORT and MNT, and a client still holding its handles gets STALE.
// Files written over NFS land; files applied over the API are what the mount shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nfs3Client, NfsStatus, MountStat } from '../lib/nfs3-client.js';
import { makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';

let t: TestDaemon;
let nfs: Nfs3Client;

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, 'nfs/app', { 'README.md': 'readme\n', 'src/main.c': 'int main() {}\n' });
  nfs = await Nfs3Client.connect(t.d.port);
});

afterAll(async () => {
  await nfs?.close();
  await t?.close();
});

async function cat(root: Buffer, path: string): Promise<string> {
  let fh = root;
  for (const name of path.split('/')) {
    const l = await nfs.lookup(fh, name);
    expect(l.status, `lookup ${name}`).toBe(NfsStatus.OK);
    fh = l.fh!;
  }
  const r = await nfs.read(fh, 0, 1 << 20);
  expect(r.status).toBe(NfsStatus.OK);
  return r.data!.toString();
}

describe('ended sessions', () => {
  it('a file written through NFS lands; afterwards the old handles are STALE and the export is gone', async () => {
    const s = (await t.api.start({ goal: 'edit over nfs', project: 'nfs/app' })).session;
    const root = await nfs.mountRoot(s.export!);
    expect((await nfs.exports()).map((e) => e.path)).toContain(s.export);

    // write through NFS
    const src = (await nfs.lookup(root, 'src')).fh!;
    const created = await nfs.create(src, 'util.c', { kind: 'guarded', attrs: { mode: 0o644 } });
    expect(created.status).toBe(NfsStatus.OK);
    expect((await nfs.write(created.fh!, 0, Buffer.from('void util() {}\n'))).status).toBe(NfsStatus.OK);
    // and through the API: the mount sees it
    await t.api.files(s.session_id, { files: [{ path: 'docs/api.md', change_type: 'added', content: 'from the API\n' }] });
    expect(await cat(root, 'docs/api.md')).toBe('from the API\n');

    const readme = (await nfs.lookup(root, 'README.md')).fh!;
    expect((await nfs.getattr(readme)).status).toBe(NfsStatus.OK);

    const landed = await t.api.land(s.session_id);
    expect(landed.session.changes).toEqual({ total: 2, added: 2, modified: 0, deleted: 0 });

    // the client still mounted gets STALE, on every handle it holds
    for (const fh of [root, readme, src, created.fh!]) expect((await nfs.getattr(fh)).status).toBe(NfsStatus.STALE);
    expect((await nfs.lookup(root, 'README.md')).status).toBe(NfsStatus.STALE);
    expect((await nfs.read(readme, 0, 10)).status).toBe(NfsStatus.STALE);
    // the export is gone from EXPORT and MNT
    expect((await nfs.exports()).map((e) => e.path)).not.toContain(s.export);
    expect((await nfs.mnt(s.export!)).status).toBe(MountStat.NOENT);

    // a new session sees the landed files through its own mount
    const next = (await t.api.start({ goal: 'next', project: 'nfs/app' })).session;
    const root2 = await nfs.mountRoot(next.export!);
    expect(await cat(root2, 'src/util.c')).toBe('void util() {}\n');
    expect(await cat(root2, 'docs/api.md')).toBe('from the API\n');
    expect(await cat(root2, 'README.md')).toBe('readme\n');
  });

  it("an abandoned session's handles are STALE too", async () => {
    const s = (await t.api.start({ goal: 'to drop', project: 'nfs/app' })).session;
    const root = await nfs.mountRoot(s.export!);
    expect((await nfs.getattr(root)).status).toBe(NfsStatus.OK);
    await t.api.abandon(s.session_id);
    expect((await nfs.getattr(root)).status).toBe(NfsStatus.STALE);
    expect((await nfs.mnt(s.export!)).status).toBe(MountStat.NOENT);
  });

  it('a rebased session keeps its export: the root handle works, its own file keeps its handle, a deleted one is STALE', async () => {
    const a = (await t.api.start({ goal: 'mover', project: 'nfs/app' })).session;
    const b = (await t.api.start({ goal: 'rebased', project: 'nfs/app' })).session;
    await t.api.land(a.session_id, { files: [{ path: 'moved-on.txt', change_type: 'added', content: 'x\n' }] });
    const root = await nfs.mountRoot(b.export!);
    await t.api.files(b.session_id, {
      files: [
        { path: 'mine.txt', change_type: 'added', content: 'b\n' },
        { path: 'gone.txt', change_type: 'added', content: 'g\n' },
      ],
    });
    const mine = (await nfs.lookup(root, 'mine.txt')).fh!;
    const gone = (await nfs.lookup(root, 'gone.txt')).fh!;
    await t.api.files(b.session_id, { files: [{ path: 'gone.txt', change_type: 'deleted' }] });
    const rb = await t.api.rebase(b.session_id);
    expect(rb.rebased).toBe(true);
    // test/session/rebase-handles.test.ts: the rules in full
    expect((await nfs.getattr(root)).status).toBe(NfsStatus.OK);
    expect((await nfs.read(mine, 0, 100)).data?.toString()).toBe('b\n');
    expect((await nfs.getattr(gone)).status).toBe(NfsStatus.STALE);
    expect(await cat(root, 'mine.txt')).toBe('b\n');
    const root2 = await nfs.mountRoot(b.export!);
    expect(root2.equals(root)).toBe(true);
    expect(await cat(root2, 'moved-on.txt')).toBe('x\n');
    expect((await t.api.changes(b.session_id)).changes.map((c) => c.path)).toEqual(['mine.txt']);
  });
});
