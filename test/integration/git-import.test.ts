// import-git and export-git around a kernel-client session: a session started from an imported head
// shows the commit's files; after it lands, export-git makes a commit that git fsck --strict accepts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import { describeResult, guestScript, runGuest, stepOutput, stepStatus } from '../lib/kernel.js';
import { git } from '../git/repo.js';

const P = 'test/gitimport';

describe.sequential('import-git, a kernel-client session, export-git', () => {
  let d: Daemon;
  let s: SessionInfo;
  let root: string;
  let repo: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'micfs-gitk-'));
    repo = join(root, 'repo');
    mkdirSync(join(repo, 'src'), { recursive: true });
    mkdirSync(join(repo, 'docs'), { recursive: true });
    git(root, 'init', '-q', '-b', 'main', repo);
    writeFileSync(join(repo, 'README.md'), 'first\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'first');
    writeFileSync(join(repo, 'README.md'), '# demo\n');
    writeFileSync(join(repo, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(repo, 'run.sh'), 0o755);
    symlinkSync('README.md', join(repo, 'link'));
    writeFileSync(join(repo, 'src', 'lib.c'), 'int lib;\n');
    writeFileSync(join(repo, 'docs', 'guide.txt'), 'guide\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'second');
    d = await startDaemon({ env: { MIC_API_PORT: '0' } });
    const r = await d.mic(['project', 'import-git', P, repo]);
    expect(r.code, r.stderr).toBe(0);
    s = await d.startSession(P, 'edit an imported project');
  }, 120_000);

  afterAll(async () => {
    await d?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("the session shows the imported commit's files, and takes edits", async () => {
    const r = await runGuest(guestScript('git-import'), { port: d.port, export: s.export, timeout: 200 });
    expect(stepStatus(r.stdout, 'sees'), stepOutput(r.stdout, 'sees') || describeResult(r)).toBe('ok');
    expect(stepStatus(r.stdout, 'edit'), stepOutput(r.stdout, 'edit') || describeResult(r)).toBe('ok');
    expect(r.code, describeResult(r)).toBe(0);
  }, 300_000);

  it('after landing, export-git writes the original commits and one for the session; fsck --strict accepts them', async () => {
    const land = await d.mic(['session', 'land', s.session_id, '-m', 'kernel edits']);
    expect(land.code, land.stderr + land.stdout).toBe(0);
    const target = join(root, 'export');
    const r = await d.mic(['project', 'export-git', P, target, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout) as { branch: string; commit: string; exported: number };
    expect(out).toMatchObject({ branch: 'mic/gitimport', exported: 3 });
    git(target, 'fsck', '--strict');
    expect(git(target, 'rev-parse', `${out.branch}~1`)).toBe(git(repo, 'rev-parse', 'main'));
    expect(git(target, 'show', `${out.branch}:README.md`)).toBe('edited in the mount');
    expect(git(target, 'show', `${out.branch}:notes/kernel.txt`)).toBe('from the kernel');
    expect(git(target, 'ls-tree', '-r', '--name-only', out.branch).split('\n')).not.toContain('docs/guide.txt');
    expect(git(target, 'log', '-1', '--format=%B', out.branch)).toContain(`Mic-Session: ${s.session_id}`);
    expect(git(target, 'notes', '--ref=mic', 'show', out.branch)).toContain(s.session_id);
  }, 120_000);
});
