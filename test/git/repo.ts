// Real git repositories for the import/export tests, and a way to read a project's trees as git sees them.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, chmodSync, symlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBackend, ObjectStore, EMPTY_TREE } from '../../src/store/index.js';
import { bytesOf } from '../../src/git/paths.js';
import { getHeadIndex, lookupIndex } from '../../src/session/blame-index.js';

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Ada Lovelace',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Charles Babbage',
  GIT_COMMITTER_EMAIL: 'cb@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  LC_ALL: 'C',
};
let clock = 1_700_000_000;

export function git(cwd: string, ...args: string[]): string {
  clock += 60;
  const date = `${clock} +0200`;
  return execFileSync('git', args, {
    cwd,
    env: { ...ENV, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    maxBuffer: 1 << 28,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
    .toString('utf8')
    .trim();
}

export function gitBuf(cwd: string, ...args: string[]): Buffer {
  return execFileSync('git', args, { cwd, env: ENV, maxBuffer: 1 << 28 });
}

function put(root: string, rel: string | Buffer, content: string | Buffer): void {
  const p = typeof rel === 'string' ? join(root, rel) : Buffer.concat([Buffer.from(root + '/'), rel]);
  mkdirSync(join(p.toString(), '..'), { recursive: true });
  writeFileSync(p, content);
}

export const LATIN1_NAME = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]); // "café.txt" in Latin-1

/**
 * A repository with branches, a merge, a rename, a symlink, an executable, a submodule (gitlink), a
 * non-UTF-8 name, an empty commit and a large binary (chunked by the store).
 */
export function makeRepo(dir: string): void {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  put(dir, 'README.md', '# demo\n');
  put(dir, 'src/a.c', 'int a;\n');
  put(dir, 'run.sh', '#!/bin/sh\necho hi\n');
  chmodSync(join(dir, 'run.sh'), 0o755);
  symlinkSync('README.md', join(dir, 'link'));
  put(dir, LATIN1_NAME, 'latin-1 name\n');
  put(dir, 'docs/日本.txt', 'utf-8 name\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'first commit\n\nwith a body');
  git(dir, 'mv', 'src/a.c', 'src/b.c');
  put(dir, 'README.md', '# demo\nrenamed a.c\n');
  put(dir, 'big.bin', randomBytes(6 * 1024 * 1024));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'rename a.c, add a large binary');
  git(dir, 'checkout', '-q', '-b', 'feature');
  put(dir, 'feature.txt', 'feature\n');
  chmodSync(join(dir, 'run.sh'), 0o644);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'feature work');
  git(dir, 'checkout', '-q', 'main');
  git(dir, 'commit', '-q', '--allow-empty', '-m', 'an empty commit');
  put(dir, 'main.txt', 'main\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'main work');
  git(dir, 'merge', '-q', '--no-ff', '-m', 'merge feature', 'feature');
  // a submodule: a gitlink to a commit of another repository
  const sub = `${dir}-sub`;
  mkdirSync(sub, { recursive: true });
  git(sub, 'init', '-q', '-b', 'main');
  put(sub, 'lib.txt', 'lib\n');
  git(sub, 'add', '-A');
  git(sub, 'commit', '-q', '-m', 'sub');
  const subHead = git(sub, 'rev-parse', 'HEAD');
  put(dir, '.gitmodules', `[submodule "vendor/lib"]\n\tpath = vendor/lib\n\turl = ../sub\n`);
  rmSync(join(dir, 'big.bin'));
  put(dir, 'src/b.c', 'int b;\n');
  git(dir, 'add', '-A');
  git(dir, 'update-index', '--add', '--cacheinfo', `160000,${subHead},vendor/lib`);
  git(dir, 'commit', '-q', '-m', 'submodule, drop the binary');
}

export function addCommit(dir: string, file: string, content: string, message: string): string {
  put(dir, file, content);
  git(dir, 'add', file);
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** `git ls-tree -r` of a commit: path (bytes as latin1) -> "mode sha1", submodules included. */
export function lsTree(dir: string, commit: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rec of gitBuf(dir, 'ls-tree', '-r', '-z', commit).toString('latin1').split('\0')) {
    if (!rec) continue;
    const [meta, path] = rec.split('\t');
    const [mode, , sha] = meta!.split(' ');
    out.set(path!, `${mode} ${sha}`);
  }
  return out;
}

export function projectStore(dataDir: string, project: string): ObjectStore {
  return new ObjectStore(new LocalBackend(join(dataDir, 'objects'), { fsync: false }), project);
}

const gitSha = (kind: string, content: Buffer) => createHash('sha1').update(`${kind} ${content.length}\0`).update(content).digest('hex');

/** A mic tree in ls-tree's terms: path (git bytes as latin1) -> "mode sha1" (sha1 of the content as a git blob). */
export async function micTree(store: ObjectStore, tree: string, gitlinks: Record<string, string> = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (h: string, prefix: string): Promise<void> => {
    for (const e of await store.listDir(h)) {
      const p = prefix + e.name;
      if (e.kind === 'dir') await walk(e.hash ?? EMPTY_TREE, p + '/');
      else if (e.kind === 'symlink') out.set(bytesOf(p).toString('latin1'), `120000 ${gitSha('blob', bytesOf(e.target!))}`);
      else
        out.set(bytesOf(p).toString('latin1'), `${e.mode & 0o100 ? '100755' : '100644'} ${gitSha('blob', await store.getBlob(e.hash!))}`);
    }
  };
  await walk(tree, '');
  for (const [p, sha] of Object.entries(gitlinks)) out.set(bytesOf(p).toString('latin1'), `160000 ${sha}`);
  return new Map([...out].sort());
}

/** Every path (files and directories) of a head's tree whose name git can take as an argument, with the head
 *  that the blame index says last changed it and the head of the commit `git log --first-parent` names. */
export async function blameVsGit(
  store: ObjectStore,
  repo: string,
  tip: string,
  head: string,
  commits: Record<string, string>,
): Promise<{ path: string; index: string | null; git: string | undefined }[]> {
  const idx = await getHeadIndex(store, head);
  if (!idx) throw new Error(`head ${head} has no blame index`);
  const out: { path: string; index: string | null; git: string | undefined }[] = [];
  const walk = async (h: string, parts: string[]): Promise<void> => {
    for (const e of await store.listDir(h)) {
      const p = [...parts, e.name];
      const bytes = bytesOf(p.join('/'));
      if (bytes.toString('utf8') === p.join('/')) {
        const c = git(repo, 'log', '-1', '--first-parent', '--format=%H', tip, '--', p.join('/'));
        out.push({ path: p.join('/'), index: await lookupIndex(store, idx, p), git: commits[c] });
      }
      if (e.kind === 'dir') await walk(e.hash ?? EMPTY_TREE, p);
    }
  };
  await walk((await store.getHeadRecord(head)).tree, []);
  return out;
}
