// Commits fast-import cannot write again byte for byte (a gpgsig header) are found by a scan that runs
// alongside the import (raw-commits.ts SpecialCommits: each commit waits only until the scan has passed
// it): signed commits at the root, in the middle and at the tip of a history, and one on a side branch
// merged in, all come back hash for hash from export-git, and the records keep the raw commits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMic } from '../lib/daemon.js';
import { tempDir } from '../session/helpers.js';
import { IMPORT_STATE, type ImportState } from '../../src/git/state.js';
import { git, projectStore } from './repo.js';

const P = 'acme/signed';
const SIG =
  'gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEEnot+a+real+signature+but+bytes+git+keeps=\n =AbCd\n -----END PGP SIGNATURE-----\n';

/** Rewrites HEAD as the same commit carrying a gpgsig header; returns the new id. */
function signHead(dir: string): string {
  const raw = git(dir, 'cat-file', 'commit', 'HEAD') + '\n';
  const at = raw.indexOf('\n\n');
  const signed = raw.slice(0, at + 1) + SIG + raw.slice(at + 1);
  const id = execFileSync('git', ['hash-object', '-t', 'commit', '-w', '--stdin'], { cwd: dir, input: signed }).toString().trim();
  git(dir, 'update-ref', 'HEAD', id);
  return id;
}

async function ok(dataDir: string, ...args: string[]) {
  const r = await runMic([...args, '--data-dir', dataDir], { timeoutMs: 120_000 });
  expect(r.code, `mic ${args.join(' ')}\n${r.stderr}${r.stdout}`).toBe(0);
  return r;
}

describe('import-git of signed commits', () => {
  let root: string;
  const signed: string[] = [];

  beforeAll(async () => {
    root = await tempDir('micfs-git-signed-');
    const repo = join(root, 'repo');
    git(root, 'init', '-q', '-b', 'main', repo);
    for (let i = 0; i < 40; i++) {
      if (i === 20) git(repo, 'checkout', '-q', '-b', 'side');
      if (i === 26) {
        git(repo, 'checkout', '-q', 'main');
        git(repo, 'merge', '-q', '--no-ff', '-m', 'merge side', 'side');
        signed.push(signHead(repo));
      }
      writeFileSync(join(repo, `f${i % 7}.txt`), `change ${i}\n`);
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', `commit ${i}`);
      if (i === 0 || i === 13 || i === 23 || i === 39) signed.push(signHead(repo));
    }
  }, 60_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('export reproduces every commit id, the signed ones included', async () => {
    const repo = join(root, 'repo');
    const dataDir = join(root, 'data');
    await ok(dataDir, 'project', 'import-git', P, repo, '--json');
    const st = (await projectStore(dataDir, P).getJson<ImportState>(IMPORT_STATE))!;
    const all = git(repo, 'rev-list', 'main').split('\n');
    expect(Object.keys(st.commits).sort()).toEqual([...all].sort());
    for (const id of signed) expect(all).toContain(id);
    // the records of the signed commits keep them raw, and only theirs
    const store = projectStore(dataDir, P);
    for (const id of all) {
      const sid = (await store.getHeadRecord(st.commits[id]!)).session!;
      const rec = (await store.getJson<{ git: { raw_b64?: string } }>(`sessions/${sid}/metadata.json`))!;
      expect(rec.git.raw_b64 !== undefined, id).toBe(signed.includes(id));
    }
    const target = join(root, 'export');
    const r = JSON.parse((await ok(dataDir, 'project', 'export-git', P, target, '--branch', 'main', '--json')).stdout);
    expect(r.commit).toBe(git(repo, 'rev-parse', 'main'));
    expect(git(target, 'rev-list', 'main')).toBe(git(repo, 'rev-list', 'main'));
    expect(git(target, 'cat-file', 'commit', signed[2]!)).toContain('gpgsig -----BEGIN PGP SIGNATURE-----');
  }, 120_000);
});
