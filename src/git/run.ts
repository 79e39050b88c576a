// Running git: one-shot commands and long-lived stream processes (fast-export, fast-import, cat-file).
// git on PATH is a runtime requirement of import-git and export-git only; requireGit says so in one line.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';

export class GitError extends Error {}

let checked: string | null = null;

/** The git version string; throws a one-line GitError when git is not on PATH. */
export function requireGit(): string {
  if (checked) return checked;
  const r = spawnSync('git', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new GitError('git is not installed or not on PATH (import-git and export-git need it)');
  checked = r.stdout.trim();
  return checked;
}

/** The git subcommand of args (after any leading -c name=value). */
function commandOf(args: string[]): string {
  let i = 0;
  while (args[i] === '-c') i += 2;
  return args[i] ?? 'git';
}

const ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', GIT_CONFIG_NOSYSTEM: '1' };

/** Runs git to completion; stdout as a Buffer. Throws GitError with git's stderr on failure. */
export function git(
  args: string[],
  opts: { cwd?: string; input?: Buffer | string; allowFail?: boolean } = {},
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('git', args, { cwd: opts.cwd, env: ENV });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    p.on('error', (e) => reject(new GitError(`git: ${e.message}`)));
    p.on('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (code !== 0 && !opts.allowFail) return reject(new GitError(`git ${commandOf(args)} failed: ${stderr || `exit ${code}`}`));
      resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr });
    });
    p.stdin.on('error', () => {}); // git may exit before reading all input; the exit code tells
    p.stdin.end(opts.input);
  });
}

/** git ... as trimmed UTF-8 text. */
export async function gitText(args: string[], cwd?: string): Promise<string> {
  return (await git(args, { cwd })).stdout.toString('utf8').trim();
}

/** A long-running git process; wait() resolves when it exits (rejects with its stderr on failure). */
export interface GitProcess {
  proc: ChildProcessWithoutNullStreams;
  wait(): Promise<void>;
}

export function gitStream(args: string[], cwd?: string, env: Record<string, string> = {}): GitProcess {
  const proc = spawn('git', args, { cwd, env: { ...ENV, ...env } });
  const err: Buffer[] = [];
  proc.stderr.on('data', (c: Buffer) => {
    if (err.length < 64) err.push(c);
  });
  proc.stdin.on('error', () => {});
  const done = new Promise<void>((resolve, reject) => {
    proc.on('error', (e) => reject(new GitError(`git: ${e.message}`)));
    proc.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new GitError(`git ${commandOf(args)} failed: ${Buffer.concat(err).toString('utf8').trim() || `exit ${code ?? signal}`}`));
    });
  });
  done.catch(() => {});
  return { proc, wait: () => done };
}
