// import-git killed (SIGKILL) while it writes objects: the project head has not moved, a re-run imports
// the whole history, and `mic fsck` finds the store sound (objects written without fsync before the kill,
// half-written temporary pack files, and the ones the re-run writes again). The re-run removes the dead
// run's temporary packs; gc then deletes an unreachable packed object and keeps everything reachable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, runMic } from '../lib/daemon.js';
import { tempDir } from '../session/helpers.js';
import { IMPORT_STATE, type ImportState } from '../../src/git/state.js';
import { blameVsGit, git, lsTree, micTree, projectStore } from './repo.js';
import { PackWriter } from '../../src/store/local-pack-writer.js';
import { encodeStored, sha256Hex } from '../../src/store/index.js';

const P = 'acme/crash';
const COMMITS = 300;

/** A history of COMMITS commits over 100 files in 10 directories, written with git fast-import. */
function makeHistory(root: string, dir: string): void {
  git(root, 'init', '-q', '--bare', dir);
  const parts: string[] = [];
  for (let k = 0; k < COMMITS; k++) {
    const msg = `change ${k}`;
    parts.push(`commit refs/heads/main\ncommitter Gen <gen@example.com> ${1_600_000_000 + k * 60} +0000\ndata ${msg.length}\n${msg}\n`);
    for (let j = 0; j < (k === 0 ? 100 : 2); j++) {
      const i = k === 0 ? j : (k * 31 + j * 97) % 100;
      const c = `file ${i} at ${k}\n`;
      parts.push(`M 100644 inline d${i % 10}/f${i}.txt\ndata ${c.length}\n${c}\n`);
    }
    parts.push('\n');
  }
  const r = spawnSync('git', ['fast-import', '--quiet'], { cwd: dir, input: parts.join('') });
  expect(r.status, r.stderr.toString()).toBe(0);
  git(dir, 'symbolic-ref', 'HEAD', 'refs/heads/main');
}

describe('import-git after a SIGKILL', () => {
  let root: string;
  let repo: string;
  let dataDir: string;

  beforeAll(async () => {
    root = await tempDir('micfs-git-crash-');
    repo = join(root, 'src.git');
    dataDir = join(root, 'data');
    makeHistory(root, repo);
  }, 60_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a re-run imports everything and mic fsck finds the store sound', async () => {
    const packs = join(dataDir, 'objects', 'packs~');
    const tmpPacks = () => (existsSync(packs) ? readdirSync(packs).filter((n) => n.includes('.pack.tmp-')) : []);
    const child = spawn(process.execPath, [CLI, 'project', 'import-git', P, repo, '--data-dir', dataDir], { stdio: 'ignore' });
    const exited = new Promise<string | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    // kill once a good part of the history is in the temporary packs
    let killed = false;
    for (let i = 0; i < 3000 && !killed; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const bytes = tmpPacks().reduce((n, f) => n + (existsSync(join(packs, f)) ? statSync(join(packs, f)).size : 0), 0);
      if (bytes >= 64 * 1024) killed = child.kill('SIGKILL');
      if (child.exitCode !== null) break;
    }
    expect(await exited, 'import-git ended before it could be killed').toBe('SIGKILL');
    const store = projectStore(dataDir, P);
    expect(await store.getHead()).toBeNull(); // the head moves only once everything is durable
    const left = tmpPacks();
    expect(left.length).toBeGreaterThan(0);
    expect(readdirSync(packs).filter((n) => n.endsWith('.pack'))).toEqual([]); // none finished, none visible

    const r = await runMic(['project', 'import-git', P, repo, '--json', '--data-dir', dataDir], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).imported).toBe(COMMITS);
    const state = (await store.getJson<ImportState>(IMPORT_STATE))!;
    const tip = git(repo, 'rev-parse', 'main');
    const head = (await store.getHead())!;
    expect(head.hash).toBe(state.commits[tip]);
    expect(await micTree(store, head.record.tree)).toEqual(new Map([...lsTree(repo, tip)].sort()));
    const mid = git(repo, 'rev-parse', `main~${COMMITS / 2}`);
    expect(await micTree(store, (await store.getHeadRecord(state.commits[mid]!)).tree)).toEqual(new Map([...lsTree(repo, mid)].sort()));

    // the blame index of the tip agrees with git log --first-parent on every path
    for (const b of await blameVsGit(store, repo, tip, head.hash, state.commits)) expect(b.index, b.path).toBe(b.git);
    expect(tmpPacks().filter((n) => left.includes(n))).toEqual([]); // the dead run's temporary packs are gone
    expect(readdirSync(packs).filter((n) => n.endsWith('.pack')).length).toBeGreaterThan(0);

    const fsck = await runMic(['fsck', '--project', P, '--json', '--data-dir', dataDir], { timeoutMs: 120_000 });
    expect(fsck.code, fsck.stderr + fsck.stdout.slice(0, 2000)).toBe(0);

    // gc: an unreachable blob in a pack is deleted, everything the heads reach stays
    const junk = Buffer.from('nobody names this blob\n');
    const junkHash = sha256Hex(junk);
    const w = new PackWriter(join(dataDir, 'objects'));
    w.append(`projects/${P}/blobs/${junkHash.slice(0, 2)}/${junkHash}`, encodeStored(junk));
    w.finish();
    expect(await store.hasBlob(junkHash)).toBe(true);
    const gc = await runMic(['gc', '--grace', '0s', '--force', '--project', P, '--json', '--data-dir', dataDir], { timeoutMs: 120_000 });
    expect(gc.code, gc.stderr).toBe(0);
    expect(await projectStore(dataDir, P).hasBlob(junkHash)).toBe(false);
    expect(gc.stdout).toContain(junkHash);
    const again = await runMic(['fsck', '--project', P, '--json', '--data-dir', dataDir], { timeoutMs: 120_000 });
    expect(again.code, again.stderr + again.stdout.slice(0, 2000)).toBe(0);
    expect(await micTree(store, head.record.tree)).toEqual(new Map([...lsTree(repo, tip)].sort()));
  }, 120_000);
});
