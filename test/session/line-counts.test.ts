// Line counts of a landed session's changes are saved behind its landing (session/line-counts.ts): a later
// listing, in another process, reads them instead of reading and diffing both versions of every file. Shown
// by removing the changed files' blobs afterwards: the counts still come back, from the saved object.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMic } from '../lib/daemon.js';
import { makeProject, testDaemon, type TestDaemon } from './helpers.js';

let t: TestDaemon | undefined;
afterAll(async () => {
  await t?.close();
});

const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : []);

describe('line counts of a landed session', () => {
  it('are saved at landing and served without the blobs', async () => {
    t = await testDaemon();
    const dataDir = t.dataDir;
    await makeProject(t.dataDir, 'lc/app', { 'a.txt': 'one\ntwo\nthree\n', 'keep.txt': 'k\n' });
    const id = (await t.api.start({ goal: 'counts', project: 'lc/app' })).session.session_id;
    await t.api.files(id, {
      files: [
        { path: 'a.txt', change_type: 'modified', content: 'one\n2\nthree\nfour\n' },
        { path: 'b.txt', change_type: 'added', content: 'x\ny\n' },
      ],
    });
    const landed = await t.api.land(id);
    const counts = join(dataDir, 'objects', 'projects', 'lc', 'app', 'counts');
    // written behind the landing: wait for it (no deadline but the test's own)
    while (!files(counts).some((f) => /[0-9a-f]{64}$/.test(f))) await new Promise((r) => setTimeout(r, 20));
    await t.close();
    t = undefined;
    // the changed files' contents are gone from the store: only saved counts can answer
    const hashes = landed.changes.flatMap((c) => [c.new_hash, c.old_hash]).filter((h): h is string => !!h);
    expect(hashes.length).toBe(3);
    for (const h of hashes) expect(existsSync(blobPath(h))).toBe(true);
    for (const h of hashes) rmSync(blobPath(h));
    for (const h of hashes) expect(existsSync(blobPath(h))).toBe(false);
    const r = await runMic(['session', 'diff', id, '--stat', '--json', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const byPath = Object.fromEntries(
      (JSON.parse(r.stdout).changes as { path: string; lines_added: number; lines_removed: number; binary: boolean }[]).map((c) => [
        c.path,
        [c.lines_added, c.lines_removed, c.binary],
      ]),
    );
    expect(byPath).toEqual({ 'a.txt': [2, 1, false], 'b.txt': [2, 0, false] });

    function blobPath(h: string) {
      return join(dataDir, 'objects', 'projects', 'lc', 'app', 'blobs', h.slice(0, 2), h);
    }
  });
});
