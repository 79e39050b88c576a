// Where import-git reads a repository from: a local path (a work tree or a bare repository, resolved to
// its git dir) or a file:// URL is used in place; any other URL (https://, ssh://, user@host:path) is
// cloned with --mirror into a temporary directory that cleanup() removes. A path that does not exist or is
// not a repository gets a GitError naming it.
import { mkdtemp, rm, realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GitError, git, gitText } from './run.js';

/** A local path or file:// URL as is; any other URL cloned with --mirror into a temporary directory. */
export async function openRepo(repo: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^:]+:/.test(repo);
  if (isUrl && !repo.startsWith('file://')) {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'mic-git-'));
    await git(['clone', '--mirror', '--quiet', repo, tmp]);
    return { dir: tmp, cleanup: () => rm(tmp, { recursive: true, force: true }) };
  }
  const dir = repo.startsWith('file://') ? decodeURIComponent(new URL(repo).pathname) : repo;
  try {
    await stat(dir);
  } catch {
    throw new GitError(`${repo}: no such repository`);
  }
  const top = await gitText(['rev-parse', '--absolute-git-dir'], dir).catch(() => {
    throw new GitError(`${repo} is not a git repository`);
  });
  return { dir: await realpath(top), cleanup: async () => {} };
}
