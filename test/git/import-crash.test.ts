// import-git killed (SIGKILL) while it writes objects: the project head has not moved, a re-run imports
// the whole history, and `mic fsck` finds the store sound (objects written without fsync before the kill,
// half-written temporary files, and the ones the re-run writes again over them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, runMic } from '../lib/daemon.js';
import { tempDir } from '../session/helpers.js';
import { IMPORT_STATE, type ImportState } from '../../src/git/state.js';
import { git, lsTree, micTree, projectStore } from './repo.js';

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
    const heads = join(dataDir, 'objects', 'projects', 'acme', 'crash', 'heads');
    const child = spawn(process.execPath, [CLI, 'project', 'import-git', P, repo, '--data-dir', dataDir], { stdio: 'ignore' });
    const exited = new Promise<string | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    // kill once head records of a good part of the history are on disk (one fan-out directory each, at first)
    let killed = false;
    for (let i = 0; i < 3000 && !killed; i++) {
      await new Promise((r) => setTimeout(r, 10));
      if (existsSync(heads) && readdirSync(heads).length >= 16) killed = child.kill('SIGKILL');
      if (child.exitCode !== null) break;
    }
    expect(await exited, 'import-git ended before it could be killed').toBe('SIGKILL');
    const store = projectStore(dataDir, P);
    expect(await store.getHead()).toBeNull(); // the head moves only once everything is durable

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

    const fsck = await runMic(['fsck', '--project', P, '--json', '--data-dir', dataDir], { timeoutMs: 120_000 });
    expect(fsck.code, fsck.stderr + fsck.stdout.slice(0, 2000)).toBe(0);
  }, 120_000);
});
