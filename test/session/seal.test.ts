// Sealing a live session into a tree, and the changes between base and sealed tree.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { LocalBackend } from '../../src/store/index.js';
import { Catalog } from '../../src/session/catalog.js';
import { DirectHost } from '../../src/session/host.js';
import { startSession } from '../../src/session/start.js';
import { sealAndRecord, sealSession } from '../../src/session/seal.js';
import { SessionFs } from '../../src/fs/session-fs.js';
import { HandleCodec } from '../../src/fs/handles.js';
import pino from 'pino';
import { applyFiles } from '../../src/session/apply.js';
import { files as parseFiles } from '../../src/session/input.js';
import { describeChanges, diffTrees, summarize, INLINE_MAX } from '../../src/session/changes.js';
import { lookupPath } from '../../src/session/history.js';
import { unifiedDiff, diffLines, splitLines, countLines } from '../../src/session/textdiff.js';
import { importTree, initProject } from '../../src/session/project.js';
import { randomBytes } from 'node:crypto';
import { tempDir, writeFiles, type Files } from './helpers.js';

class CountingBackend extends LocalBackend {
  puts: string[] = [];
  override async put(key: string, data: Buffer): Promise<void> {
    this.puts.push(key);
    return super.put(key, data);
  }
  override async putBehind(key: string, data: Buffer): Promise<void> {
    this.puts.push(key);
    return super.putBehind(key, data);
  }
}

const ROOT = { uid: 0, gid: 0, gids: [] };

async function setup(files: Files) {
  const dataDir = await tempDir();
  const backend = new CountingBackend(join(dataDir, 'objects'));
  const catalog = new Catalog(backend);
  const store = catalog.store('t/seal');
  const src = await tempDir('micfs-src-');
  await writeFiles(src, files);
  const { tree, nextIno } = await importTree(store, src);
  await initProject(store, tree, nextIno, 'import');
  const r = await startSession(catalog, { project: 't/seal', goal: 'seal test' });
  const host = new DirectHost(catalog, dataDir, randomBytes(32));
  const fs = await host.open(r);
  const apply = (specs: unknown[]) => applyFiles(fs, r.owner, parseFiles(specs));
  // the NFS adapter over the same state, for changes made as a client would
  const nfs = new SessionFs(fs, { fsid: 1n, handles: new HandleCodec(randomBytes(32)), log: pino({ level: 'silent' }) });
  return { dataDir, backend, catalog, store, r, host, fs, nfs, apply, base: { tree, nextIno } };
}

const treePuts = (b: CountingBackend) => b.puts.filter((k) => k.includes('/trees/'));
const blobPuts = (b: CountingBackend) => b.puts.filter((k) => k.includes('/blobs/'));

describe('sealSession', () => {
  it('an untouched session seals to its base tree without writing anything', async () => {
    const t = await setup({ 'a/b/c.txt': 'c\n', 'd/e.txt': 'e\n' });
    t.backend.puts.length = 0;
    const sealed = await sealSession(t.fs, t.store, t.r.base);
    expect(sealed.tree).toBe(t.base.tree);
    expect(sealed.nextIno).toBe(t.base.nextIno);
    expect(t.backend.puts).toEqual([]);
    await t.host.closeAll();
  });

  it('writes only the path to a changed file: one blob and one node per directory level', async () => {
    const files: Files = {};
    for (let d = 0; d < 10; d++) for (let f = 0; f < 20; f++) files[`dir${d}/sub/f${f}.txt`] = `${d}/${f}\n`;
    const t = await setup(files);
    await t.apply([{ path: 'dir3/sub/f7.txt', change_type: 'modified', content: 'changed\n' }]);
    t.backend.puts.length = 0;
    const sealed = await sealSession(t.fs, t.store, t.r.base);
    expect(blobPuts(t.backend)).toHaveLength(1);
    expect(treePuts(t.backend).length).toBeLessThanOrEqual(3); // sub, dir3, root
    const changes = await diffTrees(t.store, t.base.tree, sealed.tree);
    expect(changes.map((c) => `${c.change_type} ${c.path}`)).toEqual(['modified dir3/sub/f7.txt']);
    // untouched directories keep their hashes
    expect((await lookupPath(t.store, sealed.tree, ['dir4']))?.hash).toBe((await lookupPath(t.store, t.base.tree, ['dir4']))?.hash);
    // a second seal of the same state writes nothing
    t.backend.puts.length = 0;
    expect((await sealSession(t.fs, t.store, t.r.base)).tree).toBe(sealed.tree);
    expect(t.backend.puts).toEqual([]);
    await t.host.closeAll();
  });

  it('a change in a large loaded directory costs its changes: no full listing is read or compared', async () => {
    const files: Files = {};
    for (let f = 0; f < 600; f++) files[`big/f${f}.txt`] = `${f}\n`;
    files['big/sub/deep.txt'] = 'deep\n';
    const t = await setup(files);
    // modified files and a chmod: the listing keeps the base's names (snapshot.ts partial)
    await t.apply([
      { path: 'big/f10.txt', change_type: 'modified', content: 'ten\n' },
      { path: 'big/f599.txt', change_type: 'modified', content: 'last\n' },
      { path: 'big/sub/deep.txt', change_type: 'modified', content: 'deeper\n' },
    ]);
    const listDir = t.store.listDir.bind(t.store);
    const listed: string[] = [];
    t.store.listDir = async (h: string) => {
      listed.push(h);
      return listDir(h);
    };
    const sealed = await sealSession(t.fs, t.store, t.r.base);
    expect(listed).toEqual([]);
    const changes = await diffTrees(t.store, t.base.tree, sealed.tree);
    expect(changes.map((c) => `${c.change_type} ${c.path}`).sort()).toEqual([
      'modified big/f10.txt',
      'modified big/f599.txt',
      'modified big/sub/deep.txt',
    ]);
    expect((await lookupPath(t.store, sealed.tree, ['big']))?.dirs).toBe(1);
    // a name removed and added again is no longer the base's listing: compared in full, still right
    await t.apply([
      { path: 'big/f11.txt', change_type: 'deleted' },
      { path: 'big/f11.txt', change_type: 'added', content: 'eleven again\n' },
      { path: 'big/f12.txt', change_type: 'deleted' },
    ]);
    const again = await sealSession(t.fs, t.store, t.r.base);
    const changes2 = await diffTrees(t.store, t.base.tree, again.tree);
    expect(changes2.map((c) => `${c.change_type} ${c.path}`).sort()).toEqual([
      'deleted big/f12.txt',
      'modified big/f10.txt',
      'modified big/f11.txt',
      'modified big/f599.txt',
      'modified big/sub/deep.txt',
    ]);
    await t.host.closeAll();
  });

  it('keeps inode numbers: base files keep theirs, new ones are at or past the base nextIno', async () => {
    const t = await setup({ 'keep.txt': 'k\n', 'mod.txt': 'm\n' });
    const before = await lookupPath(t.store, t.base.tree, ['mod.txt']);
    await t.apply([
      { path: 'mod.txt', change_type: 'modified', content: 'm2\n' },
      { path: 'new/deep/file.txt', change_type: 'added', content: 'n\n' },
    ]);
    const sealed = await sealSession(t.fs, t.store, t.r.base);
    const mod = await lookupPath(t.store, sealed.tree, ['mod.txt']);
    expect(mod?.ino).toBe(before?.ino);
    const fh = (await t.nfs.lookup(t.nfs.rootHandle(), 'mod.txt', ROOT)).node;
    expect(fh.attrs.fileid).toBe(mod?.ino);
    const created = await lookupPath(t.store, sealed.tree, ['new', 'deep', 'file.txt']);
    expect(created!.ino).toBeGreaterThanOrEqual(t.base.nextIno);
    expect(sealed.nextIno).toBeGreaterThan(created!.ino);
    expect((await lookupPath(t.store, sealed.tree, ['new']))?.dirs).toBe(1);
    await t.host.closeAll();
  });

  it('reports renames, symlinks, empty directories, deletions and mode changes', async () => {
    const t = await setup({ 'old.txt': 'o\n', 'gone/x.txt': 'x\n', 'script.sh': 'echo\n' });
    const root = t.nfs.rootHandle();
    await t.nfs.rename(root, 'old.txt', root, 'renamed.txt', ROOT);
    await t.nfs.symlink(root, 'link', 'renamed.txt', {}, ROOT);
    await t.nfs.mkdir(root, 'empty', {}, ROOT);
    await t.apply([{ path: 'gone', change_type: 'deleted' }]);
    const sh = (await t.nfs.lookup(root, 'script.sh', ROOT)).node.fh;
    await t.nfs.setattr(sh, { mode: 0o755 }, null, ROOT);
    const sealed = await sealAndRecord(t.fs, t.store, t.r);
    const changes = await diffTrees(t.store, t.base.tree, sealed.tree);
    expect(changes.map((c) => `${c.change_type} ${c.path}`)).toEqual([
      'added empty',
      'deleted gone/x.txt',
      'added link',
      'deleted old.txt',
      'added renamed.txt',
      'modified script.sh',
    ]);
    expect(summarize(changes)).toEqual({ total: 6, added: 3, modified: 1, deleted: 2 });
    const doc = await t.store.getJson<{ base: string; tree: string; nextIno: number }>(`sessions/${t.r.session_id}/tree.json`);
    expect(doc).toMatchObject({ base: t.base.tree, tree: sealed.tree, nextIno: sealed.nextIno });
    await t.host.closeAll();
  });
});

describe('sealing after a restart', () => {
  it('finds changes made before the filesystem was reopened, even in directories not listed since', async () => {
    const t = await setup({ 'top.txt': 't\n', 'a/b/deep.txt': 'd\n', 'c/other.txt': 'o\n' });
    await t.apply([
      { path: 'top.txt', change_type: 'modified', content: 'T\n' },
      { path: 'a/b/deep.txt', change_type: 'modified', content: 'D\n' },
    ]);
    const before = await sealSession(t.fs, t.store, t.r.base);
    await t.host.closeAll();
    // a new process: the checkpoint holds the changed inodes, not the listings of a/ and a/b/
    const host2 = new DirectHost(t.catalog, t.dataDir, randomBytes(32));
    const fs2 = await host2.open(t.r);
    const after = await sealSession(fs2, t.store, t.r.base);
    expect(after.tree).toBe(before.tree);
    expect((await diffTrees(t.store, t.base.tree, after.tree)).map((c) => c.path)).toEqual(['a/b/deep.txt', 'top.txt']);
    await host2.closeAll();
  });
});

describe('describeChanges', () => {
  it('counts lines of text files, inlines small content and refers to large content by blob hash', async () => {
    const big = Buffer.from('line\n'.repeat(Math.ceil(INLINE_MAX / 5) + 10));
    const bin = Buffer.from([0, 1, 2, 3, 255, 254]);
    const t = await setup({ 'text.txt': 'one\ntwo\nthree\n', 'bye.txt': 'a\nb\n' });
    await t.apply([
      { path: 'text.txt', change_type: 'modified', content: 'one\n2\nthree\nfour\n' },
      { path: 'big.txt', change_type: 'added', content: big.toString('utf8') },
      { path: 'bin.dat', change_type: 'added', content: bin.toString('base64'), encoding: 'base64' },
      { path: 'bye.txt', change_type: 'deleted' },
    ]);
    const sealed = await sealSession(t.fs, t.store, t.r.base);
    const views = await describeChanges(t.store, await diffTrees(t.store, t.base.tree, sealed.tree));
    const by = new Map(views.map((v) => [v.path, v]));
    expect(by.get('text.txt')).toMatchObject({
      change_type: 'modified',
      lines_added: 2,
      lines_removed: 1,
      content: 'one\n2\nthree\nfour\n',
      binary: false,
      size: 17,
    });
    const b = by.get('big.txt')!;
    expect(b.content).toBeNull();
    expect(b.size).toBe(big.length);
    expect(b.blob).toMatch(/^[0-9a-f]{64}$/);
    expect(b.storage_key).toBe(`blobs/${b.blob!.slice(0, 2)}/${b.blob}`);
    expect((await t.store.getBlob(b.blob!)).equals(big)).toBe(true);
    expect(by.get('bin.dat')).toMatchObject({
      binary: true,
      lines_added: null,
      content: bin.toString('base64'),
      content_encoding: 'base64',
    });
    expect(by.get('bye.txt')).toMatchObject({ change_type: 'deleted', lines_removed: 2, lines_added: 0, content: null, size: 4 });
    await t.host.closeAll();
  });
});

describe('textdiff', () => {
  it('produces a unified diff with context and correct hunk headers', () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i + 1}`).join('\n') + '\n';
    const b = a.replace('l3\n', 'L3\n').replace('l18\n', '');
    expect(unifiedDiff('f.txt', a, b)).toBe(
      [
        'diff --mic a/f.txt b/f.txt',
        '--- a/f.txt',
        '+++ b/f.txt',
        '@@ -1,6 +1,6 @@',
        ' l1',
        ' l2',
        '-l3',
        '+L3',
        ' l4',
        ' l5',
        ' l6',
        '@@ -15,6 +15,5 @@',
        ' l15',
        ' l16',
        ' l17',
        '-l18',
        ' l19',
        ' l20',
        '',
      ].join('\n'),
    );
  });

  it('finds a minimal edit script', () => {
    const ops = diffLines(splitLines('a\nb\nc\nd\ne\n'), splitLines('a\nc\nd\nx\ne\n'));
    expect(countLines(ops)).toEqual({ added: 1, removed: 1 });
    expect(ops.map((o) => o.t + o.line).join(' ')).toBe('=a -b =c =d +x =e');
  });
});
