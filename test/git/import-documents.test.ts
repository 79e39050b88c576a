// Where import-git's workers put session records and index entries (write-worker.ts): into their packs, one
// write a batch, except a record already stored as a loose file (a loose file wins over a packed copy), which
// the import writes again as a file so that its own record is the one read. The workers look for such files
// only where the directory exists: a fresh project's records are all packed without a stat each. (The history
// also has a symlink with a 2 KB target: the import keeps only small blobs in RAM and reads the rest back.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMic } from '../lib/daemon.js';
import { tempDir } from '../session/helpers.js';
import { LocalBackend } from '../../src/store/index.js';
import { sessionIdFor } from '../../src/git/import-record.js';
import { git, lsTree, micTree, projectStore } from './repo.js';

/** Every file under dir, relative to it. */
function files(dir: string, rel = ''): string[] {
  if (!existsSync(join(dir, rel))) return [];
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(dir, join(rel, e.name)) : [join(rel, e.name)],
  );
}

describe('import-git session records and index entries', () => {
  let root: string;
  let repo: string;
  let commits: string[];

  beforeAll(async () => {
    root = await tempDir('micfs-git-docs-');
    repo = join(root, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    for (let i = 0; i < 4; i++) {
      writeFileSync(join(repo, `f${i}.txt`), `file ${i}\n`);
      // a symlink whose target is longer than the blobs the import keeps in RAM (read back from its packs)
      if (i === 1) symlinkSync(`${'d/'.repeat(1100)}target`, join(repo, 'long-link'));
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', `commit ${i}`);
    }
    commits = git(repo, 'rev-list', '--reverse', 'main').split('\n');
  }, 60_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const load = async (dataDir: string, P: string, sid: string) => {
    const b = new LocalBackend(join(dataDir, 'objects'), { fsync: false });
    const raw = await b.get(`projects/${P}/sessions/${sid}/metadata.json`);
    return raw ? (JSON.parse(raw.toString('utf8')) as { id: string; goal?: string; git?: { commit: string } }) : null;
  };

  it('a fresh project: every record and index entry is packed, none is a file', async () => {
    const dataDir = join(root, 'fresh');
    const P = 'acme/fresh';
    const r = await runMic(['project', 'import-git', P, repo, '--json', '--data-dir', dataDir], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const objects = join(dataDir, 'objects');
    expect(files(join(objects, 'projects', P)).sort()).toEqual(['git/import.json', 'head']);
    expect(files(join(objects, 'index'))).toEqual([]);
    for (const [i, c] of commits.entries()) {
      const rec = await load(dataDir, P, sessionIdFor(P, c));
      expect(rec?.git?.commit).toBe(c);
      expect(rec?.goal).toBe(`commit ${i}`);
    }
    const store = projectStore(dataDir, P);
    const head = (await store.getHead())!;
    expect(await micTree(store, head.record.tree)).toEqual(new Map([...lsTree(repo, commits.at(-1)!)].sort()));
  });

  it('a stale loose record at an imported commit is replaced by the import, as a file; the others are packed', async () => {
    const dataDir = join(root, 'stale');
    const P = 'acme/stale';
    const sid = sessionIdFor(P, commits[2]!);
    const dir = join(dataDir, 'objects', 'projects', P, 'sessions', sid);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ id: sid, goal: 'stale, from an import that died' }));
    const r = await runMic(['project', 'import-git', P, repo, '--json', '--data-dir', dataDir], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const rec = await load(dataDir, P, sid);
    expect(rec?.goal).toBe('commit 2');
    expect(rec?.git?.commit).toBe(commits[2]);
    // only that record is a file
    expect(files(join(dataDir, 'objects', 'projects', P, 'sessions'))).toEqual([join(sid, 'metadata.json')]);
    for (const [i, c] of commits.entries()) expect((await load(dataDir, P, sessionIdFor(P, c)))?.goal).toBe(`commit ${i}`);
  });
});
