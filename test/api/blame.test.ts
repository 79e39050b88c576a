// `mic blame` over HTTP against a real daemon, with the blame index (src/session/blame-index.ts): reverts,
// deletes and re-adds, renames, a file unchanged since the first head, heads landed before the index
// existed (the walk), a damaged index (the walk again), and a gc + fsck run that keeps the index usable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { getHeadIndex } from '../../src/session/blame-index.js';
import type { ObjectStore, TreeEntry } from '../../src/store/index.js';
import { runMic } from '../lib/daemon.js';
import { http, makeProject, tempDir, testDaemon, type TestDaemon } from '../session/helpers.js';

const P = 'acme/blame';
const OLD = 'acme/old';
const OLD_HEADS = 150; // more than blame-index.ts catches up (64): the oldest heads are only walked

let t: TestDaemon;
let dataDir: string;
let first: string; // the project's first head
const oldHeads: string[] = []; // OLD's heads, oldest first

/** Heads written straight through the store API, as before the index existed: x is A, B at 5, A again at
 *  7; y changes in every head. */
async function oldHistory(store: ObjectStore): Promise<void> {
  const h0 = (await store.getHead())!;
  oldHeads.push(h0.hash);
  const root = await store.listDir(h0.record.tree);
  const withFile = async (name: string, content: string, entries: TreeEntry[]) => {
    const hash = await store.putBlob(Buffer.from(content));
    return entries.map((e) => (e.name === name ? { ...e, hash, size: content.length } : e));
  };
  let parent = h0.hash;
  let rec = h0.record;
  for (let i = 1; i <= OLD_HEADS; i++) {
    let entries = await withFile('y', `y ${i}\n`, root);
    entries = await withFile('x', i >= 5 && i < 7 ? 'B\n' : 'A\n', entries);
    rec = { ...rec, tree: await store.writeDir(entries), parent, message: `old ${i}`, time: new Date(1.7e12 + i * 1000).toISOString() };
    parent = await store.putHeadRecord(rec);
    oldHeads.push(parent);
  }
  const cur = (await store.getHead())!;
  expect(await store.casHead(cur.version, cur.ref.generation, rec)).toBe(true);
}

async function land(goal: string, files: { path: string; change_type: string; content?: string }[]): Promise<string> {
  const id = (await t.api.start({ goal, project: P })).session.session_id;
  await t.api.files(id, { files } as never);
  return (await t.api.land(id)).head.hash;
}

const blamed = async (project: string, path: string) => (await t.api.blame(project, path)).head.hash;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

beforeAll(async () => {
  dataDir = await tempDir('micfs-blame-');
  first = await makeProject(dataDir, P, {
    'a.txt': 'A\n',
    'gone.txt': 'g\n',
    'dir/keep.txt': 'k\n',
    'dir/old.txt': 'o\n',
    'dir/sub/deep.txt': 'd\n',
  });
  await makeProject(dataDir, OLD, { x: 'A\n', y: 'y 0\n', 'z.txt': 'z\n' });
  await oldHistory(openCatalog(dataDir).store(OLD));
  t = await testDaemon({ dataDir });
});

afterAll(async () => {
  await t?.close();
});

describe('mic blame with the blame index', () => {
  const heads: Record<string, string> = {};

  it('names the head that last changed each path: reverts, deletes and re-adds, renames, the first head', async () => {
    heads.b = await land('a to B', [{ path: 'a.txt', change_type: 'modified', content: 'B\n' }]);
    heads.revert = await land('a back to A', [{ path: 'a.txt', change_type: 'modified', content: 'A\n' }]);
    heads.del = await land('delete gone', [{ path: 'gone.txt', change_type: 'deleted' }]);
    heads.readd = await land('gone again, same bytes', [{ path: 'gone.txt', change_type: 'added', content: 'g\n' }]);
    heads.rename = await land('rename old to new', [
      { path: 'dir/old.txt', change_type: 'deleted' },
      { path: 'dir/new.txt', change_type: 'added', content: 'o\n' },
    ]);
    heads.other = await land('unrelated', [{ path: 'other.txt', change_type: 'added', content: 'x\n' }]);

    expect(await blamed(P, 'a.txt')).toBe(heads.revert); // A→B→A: the later A
    expect(await blamed(P, 'gone.txt')).toBe(heads.readd);
    expect(await blamed(P, 'dir/new.txt')).toBe(heads.rename);
    expect(await blamed(P, 'dir')).toBe(heads.rename);
    expect(await blamed(P, 'dir/keep.txt')).toBe(first);
    expect(await blamed(P, 'dir/sub/deep.txt')).toBe(first);
    expect(await blamed(P, 'dir/sub')).toBe(first);
    expect(await blamed(P, 'other.txt')).toBe(heads.other);
    expect((await t.api.blame(P, 'a.txt')).goal).toBe('a back to A');
    // every head landed has its index, and the first one (made before any landing) was caught up
    for (const h of [first, ...Object.values(heads)]) expect(await getHeadIndex(openCatalog(dataDir).store(P), h)).not.toBeNull();
    // the CLI reads the same
    const cli = await runMic(['blame', 'dir/keep.txt', '--project', P, '--json', '--data-dir', dataDir]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout).head.hash).toBe(first);
  });

  it('heads landed before the index existed: the walk, through a revert, and on past a new chain', async () => {
    expect(await blamed(OLD, 'x')).toBe(oldHeads[7]); // A, B at 5, A again at 7
    expect(await blamed(OLD, 'y')).toBe(oldHeads[OLD_HEADS]);
    expect(await blamed(OLD, 'z.txt')).toBe(oldHeads[0]);
    // a landing on top: its index chain starts where the catch-up stops; blame goes on from there
    const id = (await t.api.start({ goal: 'on top of old heads', project: OLD })).session.session_id;
    await t.api.files(id, { files: [{ path: 'y', change_type: 'modified', content: 'new y\n' }] } as never);
    const top = (await t.api.land(id)).head.hash;
    expect(await blamed(OLD, 'y')).toBe(top);
    expect(await blamed(OLD, 'x')).toBe(oldHeads[7]);
    expect(await blamed(OLD, 'z.txt')).toBe(oldHeads[0]);
    const idx = await getHeadIndex(openCatalog(dataDir).store(OLD), top);
    expect(idx?.base).not.toBeNull(); // a chain that starts after the project's first head
  });

  it('an index missing for some heads (a crash after the CAS) or damaged gives the same answers', async () => {
    const indexOf = async (h: string) =>
      (await filesUnder(join(dataDir, 'objects'))).find((f) => f.includes(`${P}/blame/`) && f.endsWith(h))!;
    // the last head's index is lost, as if the daemon died right after the CAS: blame catches it up
    await rm(await indexOf(heads.other));
    await t.close();
    t = await testDaemon({ dataDir });
    expect(await blamed(P, 'other.txt')).toBe(heads.other);
    expect(await blamed(P, 'a.txt')).toBe(heads.revert);
    expect(await getHeadIndex(openCatalog(dataDir).store(P), heads.other)).not.toBeNull();
    // an older index is damaged (later heads' indexes name its nodes): blame notices and walks
    await writeFile(await indexOf(heads.readd), '{"root":"x","base":null,"nodes":{}}');
    await rm(await indexOf(heads.revert));
    await t.close();
    t = await testDaemon({ dataDir });
    expect(await blamed(P, 'a.txt')).toBe(heads.revert);
    expect(await blamed(P, 'gone.txt')).toBe(heads.readd);
    expect(await blamed(P, 'dir/keep.txt')).toBe(first);
    expect(await blamed(P, 'dir/new.txt')).toBe(heads.rename);
    // with every index gone, the next landing catches them up
    for (const f of (await filesUnder(join(dataDir, 'objects'))).filter((f) => f.includes(`${P}/blame/`))) await rm(f);
    await t.close();
    t = await testDaemon({ dataDir });
    heads.after = await land('after the crash', [{ path: 'dir/sub/deep.txt', change_type: 'modified', content: 'D\n' }]);
    expect(await blamed(P, 'dir/sub/deep.txt')).toBe(heads.after);
    // written behind the landing, or by blame's catch-up at the latest
    expect(await getHeadIndex(openCatalog(dataDir).store(P), heads.readd)).not.toBeNull();
    expect(await blamed(P, 'gone.txt')).toBe(heads.readd);
    expect(await blamed(P, 'a.txt')).toBe(heads.revert);
    expect(await blamed(P, 'dir/keep.txt')).toBe(first);
  });

  it('gc and fsck keep the index: same answers from it afterwards', async () => {
    const gc = await http(t.url, 'POST', '/api/gc', { grace: '0ms', force: true, project: P });
    expect(gc.status, JSON.stringify(gc.body)).toBeLessThan(300);
    const fsck = await runMic(['fsck', '--project', P, '--data-dir', dataDir]);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
    await t.close();
    t = await testDaemon({ dataDir });
    const store = openCatalog(dataDir).store(P);
    expect(await getHeadIndex(store, heads.after)).not.toBeNull();
    expect(await blamed(P, 'a.txt')).toBe(heads.revert);
    expect(await blamed(P, 'gone.txt')).toBe(heads.readd);
    expect(await blamed(P, 'dir/new.txt')).toBe(heads.rename);
    expect(await blamed(P, 'dir/keep.txt')).toBe(first);
    expect(await blamed(P, 'dir/sub/deep.txt')).toBe(heads.after);
  });
});
