// import-git and export-git on real repositories made here (branches, a merge, a rename, a symlink, an
// executable, a submodule, a non-UTF-8 name, an empty commit, a large binary), through the compiled CLI,
// and the HTTP API's background jobs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, runMic } from '../lib/daemon.js';
import { http, tempDir, testDaemon, type TestDaemon } from '../session/helpers.js';
import { IMPORT_STATE, type ImportState } from '../../src/git/state.js';
import { getHeadIndex } from '../../src/session/blame-index.js';
import { addCommit, blameVsGit, git, gitBuf, LATIN1_NAME, lsTree, makeRepo, micTree, projectStore } from './repo.js';

const P = 'acme/demo';

async function mic(dataDir: string, ...args: string[]) {
  const r = await runMic([...args, '--data-dir', dataDir], { timeoutMs: 120_000 });
  return r;
}
async function ok(dataDir: string, ...args: string[]) {
  const r = await mic(dataDir, ...args);
  expect(r.code, `mic ${args.join(' ')}\n${r.stderr}${r.stdout}`).toBe(0);
  return r;
}

describe.sequential('import-git and export-git', () => {
  let root: string;
  let repo: string;
  let dataDir: string;
  let state: ImportState;

  beforeAll(async () => {
    root = await tempDir('micfs-git-');
    repo = join(root, 'repo');
    dataDir = join(root, 'data');
    makeRepo(repo);
  }, 60_000);

  it("init --from a checkout skips .git (the directory and a submodule's .git file) and says so", async () => {
    const wt = join(root, 'checkout');
    git(root, 'clone', '-q', repo, wt);
    rmSync(Buffer.concat([Buffer.from(wt + '/'), LATIN1_NAME])); // init --from reads names as UTF-8 (not this issue's)
    mkdirSync(join(wt, 'nested'), { recursive: true });
    writeFileSync(join(wt, 'nested', '.git'), 'gitdir: ../.git/modules/nested\n');
    writeFileSync(join(wt, 'nested', 'x.txt'), 'x\n');
    const r = await ok(dataDir, 'project', 'init', 'acme/flat', '--from', wt);
    expect(r.stderr).toContain('skipped .git');
    expect(r.stderr).toContain('skipped nested/.git');
    const store = projectStore(dataDir, 'acme/flat');
    const names = (await store.listDir((await store.getHead())!.record.tree)).map((e) => e.name);
    expect(names).toContain('README.md');
    expect(names).not.toContain('.git');
    const nested = (await store.listDir((await store.lookupDir((await store.getHead())!.record.tree, 'nested'))!.hash!)).map((e) => e.name);
    expect(nested).toEqual(['x.txt']);
  });

  it('without git on PATH, the two commands fail with one clear line', async () => {
    const r = await runMic(['project', 'import-git', 'acme/nogit', repo, '--data-dir', dataDir], { env: { PATH: '/nonexistent' } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('mic: git is not installed or not on PATH (import-git and export-git need it)');
  });

  it('imports every commit as a head whose tree matches git ls-tree -r, one landed session each', async () => {
    const r = await ok(dataDir, 'project', 'import-git', P, repo, '--json');
    const out = JSON.parse(r.stdout);
    const all = git(repo, 'rev-list', 'main').split('\n');
    expect(out.imported).toBe(all.length);
    expect(out.warnings.join('\n')).toContain('submodule vendor/lib');
    const store = projectStore(dataDir, P);
    state = (await store.getJson<ImportState>(IMPORT_STATE))!;
    expect(Object.keys(state.commits).sort()).toEqual([...all].sort());
    expect((await store.getHead())!.hash).toBe(state.commits[all[0]!]);
    for (const c of all) {
      const rec = await store.getHeadRecord(state.commits[c]!);
      const session = (await store.getJson<any>(`sessions/${rec.session}/metadata.json`))!;
      expect(session.status).toBe('landed');
      expect(session.git.commit).toBe(c);
      expect(session.goal).toBe(git(repo, 'log', '-1', '--format=%s', c));
      expect(session.user).toBe('Ada Lovelace <ada@example.com>');
      expect(session.metadata.git_committer).toBe('Charles Babbage <cb@example.com>');
      expect(await micTree(store, rec.tree, session.git.gitlinks ?? {})).toEqual(new Map([...lsTree(repo, c)].sort()));
    }
    // the first-parent chain is the project's history
    const fp = git(repo, 'rev-list', '--first-parent', 'main').split('\n');
    const log = JSON.parse((await ok(dataDir, 'log', '--project', P, '--limit', '100', '--json')).stdout);
    expect(log.heads.map((h: { git_commit: string }) => h.git_commit)).toEqual(fp);
    const text = (await ok(dataDir, 'log', '--project', P, '--limit', '2')).stdout;
    expect(text).toContain(`git ${fp[0]!.slice(0, 12)}`);
    // the import wrote the tip's blame index (blame reads it instead of walking the history): for every
    // path, the head of the commit that git log --first-parent says last changed it
    const tipHead = (await store.getHead())!.hash;
    expect(await getHeadIndex(store, tipHead)).not.toBeNull();
    const blames = await blameVsGit(store, repo, 'main', tipHead, state.commits);
    expect(blames.length).toBeGreaterThan(8);
    for (const b of blames) expect(b.index, b.path).toBe(b.git);
    const blame = await ok(dataDir, 'blame', 'main.txt', '--project', P);
    expect(blame.stdout).toContain('goal: main work');
    expect(blame.stdout).toContain('by Ada Lovelace <ada@example.com>');
    const old = await ok(dataDir, 'blame', 'docs/日本.txt', '--project', P, '--json');
    expect(JSON.parse(old.stdout)).toMatchObject({ head: { hash: state.commits[all[all.length - 1]!], goal: 'first commit' } });
    // file modes, the symlink and the non-UTF-8 name as the mount shows them
    const tree = (await store.getHead())!.record.tree;
    expect(await store.lookupDir(tree, 'link')).toMatchObject({ kind: 'symlink', target: 'README.md' });
    expect((await store.lookupDir(tree, 'run.sh'))!.mode).toBe(0o644);
    const first = await store.getHeadRecord(state.commits[all[all.length - 1]!]!);
    expect((await store.lookupDir(first.tree, 'run.sh'))!.mode).toBe(0o755);
    expect((await store.listDir(tree)).some((e) => e.name === 'caf\uefe9.txt')).toBe(true);
  }, 120_000);

  it('export-git into an empty repository reproduces the commit ids; fsck --strict accepts it', async () => {
    const target = join(root, 'export1');
    const r = JSON.parse((await ok(dataDir, 'project', 'export-git', P, target, '--branch', 'main', '--json')).stdout);
    expect(r.warnings).toEqual([]);
    expect(r.commit).toBe(git(repo, 'rev-parse', 'main'));
    expect(git(target, 'rev-list', 'main')).toBe(git(repo, 'rev-list', 'main'));
    git(target, 'fsck', '--strict');
    // nothing new: a second run exports nothing
    const again = JSON.parse((await ok(dataDir, 'project', 'export-git', P, target, '--branch', 'main', '--json')).stdout);
    expect(again.exported).toBe(0);
    expect(gitBuf(target, 'ls-tree', '-r', '--name-only', '-z', 'main').includes(LATIN1_NAME)).toBe(true);
  }, 120_000);

  it('a store imported before change lists were recorded (records without git.changes) exports by diffing trees', async () => {
    const old = 'acme/older';
    await ok(dataDir, 'project', 'import-git', old, repo, '--json');
    const store = projectStore(dataDir, old);
    const st = (await store.getJson<ImportState>(IMPORT_STATE))!;
    let stripped = 0;
    for (const head of Object.values(st.commits)) {
      const sid = (await store.getHeadRecord(head)).session!;
      const rec = (await store.getJson<any>(`sessions/${sid}/metadata.json`))!;
      expect(Array.isArray(rec.git.changes)).toBe(true); // what this import records, export replays
      delete rec.git.changes;
      await store.putJson(`sessions/${sid}/metadata.json`, rec); // the record as an older import wrote it
      stripped++;
    }
    expect(stripped).toBe(git(repo, 'rev-list', 'main').split('\n').length);
    const target = join(root, 'export-older');
    const r = JSON.parse((await ok(dataDir, 'project', 'export-git', old, target, '--branch', 'main', '--json')).stdout);
    expect(r.warnings).toEqual([]);
    expect(git(target, 'rev-list', 'main')).toBe(git(repo, 'rev-list', 'main'));
    git(target, 'fsck', '--strict');
  }, 120_000);

  it('--first-parent imports the chain only; exporting it elsewhere says which merges lost a parent', async () => {
    const out = JSON.parse((await ok(dataDir, 'project', 'import-git', 'acme/fp', repo, '--first-parent', '--json')).stdout);
    expect(out.imported).toBe(git(repo, 'rev-list', '--first-parent', 'main').split('\n').length);
    const r = JSON.parse((await ok(dataDir, 'project', 'export-git', 'acme/fp', join(root, 'export-fp'), '--json')).stdout);
    const side = git(repo, 'rev-parse', 'feature');
    expect(r.warnings.join('\n')).toContain(`parent ${side.slice(0, 12)} was not imported`);
    git(join(root, 'export-fp'), 'fsck', '--strict');
    // into a clone of the source the side branch is there: every id comes back
    const clone = join(root, 'clone-fp.git');
    git(root, 'clone', '-q', '--bare', repo, clone);
    const again = JSON.parse((await ok(dataDir, 'project', 'export-git', 'acme/fp', clone, '--branch', 'mic-fp', '--json')).stdout);
    expect(again.commit).toBe(git(repo, 'rev-parse', 'main'));
  }, 60_000);

  it('re-import is incremental: only new commits, onto the same chain', async () => {
    const c1 = addCommit(repo, 'later.txt', 'later\n', 'a later commit');
    const c2 = addCommit(repo, 'docs/more.txt', 'more\n', 'another one');
    const before = (await projectStore(dataDir, P).getHead())!.hash;
    const out = JSON.parse((await ok(dataDir, 'project', 'import-git', P, repo, '--json')).stdout);
    expect(out.imported).toBe(2);
    const store = projectStore(dataDir, P);
    state = (await store.getJson<ImportState>(IMPORT_STATE))!;
    const h2 = await store.getHeadRecord(state.commits[c2]!);
    expect(h2.parent).toBe(state.commits[c1]);
    expect((await store.getHeadRecord(state.commits[c1]!)).parent).toBe(before);
    expect((await store.getHead())!.hash).toBe(state.commits[c2]);
    // the new heads continue the tip's blame index
    for (const b of await blameVsGit(store, repo, 'main', state.commits[c2]!, state.commits)) expect(b.index, b.path).toBe(b.git);
    expect(await getHeadIndex(store, state.commits[c1]!)).not.toBeNull();
    const none = JSON.parse((await ok(dataDir, 'project', 'import-git', P, repo, '--json')).stdout);
    expect(none.imported).toBe(0);
  }, 60_000);

  describe.sequential('with sessions landed on top', () => {
    let t: TestDaemon;
    const target = () => join(root, 'export1');

    beforeAll(async () => {
      t = await testDaemon({ dataDir });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('export after two landed sessions: commits with trailers, trees equal to the heads, notes with the records', async () => {
      const s1 = await t.api.create({
        project: P,
        goal: 'tune the readme',
        message: 'readme: say more',
        files: [
          { path: 'README.md', change_type: 'modified', content: '# demo\nmore words\n' },
          { path: 'tools/x.sh', change_type: 'added', content: '#!/bin/sh\n', mode: '755' },
        ],
        decisions: [{ decision: 'keep it short', reasoning: 'readers skim' }],
      });
      const s2 = await t.api.create({ project: P, goal: 'drop main.txt', files: [{ path: 'main.txt', change_type: 'deleted' }] });
      const r = JSON.parse((await ok(dataDir, 'project', 'export-git', P, target(), '--branch', 'main', '--json')).stdout);
      expect(r.exported).toBe(4); // the two commits imported since the last export, and the two sessions
      expect(r.notes).toBe(2);
      const store = projectStore(dataDir, P);
      const head = (await store.getHead())!;
      const links = (await store.getJson<any>(`sessions/${(await store.getHeadRecord(state.tip_head)).session}/metadata.json`)).git
        .gitlinks;
      expect(links).toHaveProperty('vendor/lib');
      expect(await micTree(store, head.record.tree, links)).toEqual(new Map([...lsTree(target(), 'main')].sort()));
      const msg1 = git(target(), 'log', '-1', '--format=%B', 'main~1');
      expect(msg1).toContain('readme: say more');
      expect(msg1).toContain(`Mic-Session: ${s1.session.session_id}`);
      expect(msg1).toContain('Goal: tune the readme');
      expect(msg1).toContain('Decision: keep it short');
      expect(git(target(), 'log', '-1', '--format=%(trailers:key=Mic-Session,valueonly)', 'main')).toBe(s2.session.session_id);
      const note = JSON.parse(git(target(), 'notes', '--ref=mic', 'show', 'main~1'));
      expect(note.session_id).toBe(s1.session.session_id);
      expect(note.decisions[0]).toMatchObject({ decision: 'keep it short', reasoning: 'readers skim' });
      expect(git(target(), 'log', '-1', '--show-notes=mic', 'main')).toContain(s2.session.session_id);
      expect(git(target(), 'ls-tree', 'main~1', 'tools/x.sh')).toMatch(/^100755 /);
      git(target(), 'fsck', '--strict');
    }, 120_000);

    it('re-import refuses over landed sessions unless --onto-head, which lands them or reports conflicts', async () => {
      addCommit(repo, 'upstream.txt', 'upstream\n', 'upstream change');
      const refused = await mic(dataDir, 'project', 'import-git', P, repo);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('--onto-head');
      const before = (await projectStore(dataDir, P).getHead())!.hash;
      const landed = JSON.parse((await ok(dataDir, 'project', 'import-git', P, repo, '--onto-head', '--json')).stdout);
      expect(landed.imported).toBe(1);
      const store = projectStore(dataDir, P);
      const head = (await store.getHead())!;
      expect(head.record.parent).toBe(before);
      expect(await store.lookupDir(head.record.tree, 'upstream.txt')).not.toBeNull();
      expect(await store.lookupDir(head.record.tree, 'main.txt')).toBeNull(); // the session's deletion stays
      // a commit that edits what a session changed: a conflict, nothing landed
      addCommit(repo, 'README.md', '# demo\nupstream words\n', 'upstream readme');
      const conflict = await mic(dataDir, 'project', 'import-git', P, repo, '--onto-head');
      expect(conflict.code).not.toBe(0);
      expect(conflict.stderr).toContain('conflict: README.md');
      expect((await projectStore(dataDir, P).getHead())!.hash).toBe(head.hash);
    }, 120_000);

    it('export-git --after-land exports each new landing', async () => {
      const target = join(root, 'export-watch');
      const child = spawn(
        process.execPath,
        [CLI, 'project', 'export-git', P, target, '--after-land', '--interval', '0.2', '--data-dir', dataDir],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let said = '';
      child.stdout.on('data', (b: Buffer) => {
        said += b.toString();
      });
      child.stderr.on('data', (b: Buffer) => {
        said += b.toString();
      });
      try {
        const waitFor = async (pred: () => boolean) => {
          for (let i = 0; i < 900 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
          expect(pred(), said).toBe(true);
        };
        const tip = () => {
          try {
            return git(target, 'log', '-1', '--format=%B', 'mic/demo');
          } catch {
            return '';
          }
        };
        await waitFor(() => tip() !== '');
        const s = await t.api.create({
          project: P,
          goal: 'watched landing',
          files: [{ path: 'watched.txt', change_type: 'added', content: 'w\n' }],
        });
        await waitFor(() => tip().includes(`Mic-Session: ${s.session.session_id}`));
        expect(git(target, 'show', 'mic/demo:watched.txt')).toBe('w');
      } finally {
        child.kill('SIGTERM');
      }
    }, 120_000);

    it('the HTTP API runs both as background jobs with progress', async () => {
      const fresh = join(root, 'export-api');
      const post = await http(t.url, 'POST', '/api/projects/acme/api/import-git', { repo });
      expect(post.status).toBe(202);
      const job = async (id: string, project = 'acme/api') => {
        for (;;) {
          const g = await http(t.url, 'GET', `/api/projects/${project}/git-jobs/${id}`);
          expect(g.status).toBe(200);
          if (g.body.job.status !== 'running') return g.body.job;
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const imp = await job(post.body.job.id);
      expect(imp.status, JSON.stringify(imp.error)).toBe('done');
      expect(imp.progress.done).toBe(imp.result.imported);
      const exp = await http(t.url, 'POST', '/api/projects/acme/api/export-git', { repo: fresh, branch: 'main' });
      expect(exp.status).toBe(202);
      const done = await job(exp.body.job.id);
      expect(done.status).toBe('done');
      expect(done.result.commit).toBe(git(repo, 'rev-parse', 'main'));
      const bad = await job(
        (await http(t.url, 'POST', '/api/projects/acme/api2/import-git', { repo: join(root, 'nope') })).body.job.id,
        'acme/api2',
      );
      expect(bad).toMatchObject({ status: 'failed', error: { error: 'git' } });
      expect((await http(t.url, 'POST', '/api/projects/acme/api/import-git', {})).status).toBe(400);
      expect((await http(t.url, 'GET', '/api/projects/acme/api/git-jobs/job-nope')).status).toBe(404);
      // each job's outcome is in the audit log as soon as the job shows as finished (its entry is written first)
      const audit: { action: string; target: string; result: string }[] = (
        await http(t.url, 'GET', '/api/audit?action=git.*&target=project:acme/api*')
      ).body.entries;
      expect(audit.map((e) => `${e.action} ${e.target} ${e.result}`).sort()).toEqual([
        'git.export project:acme/api ok',
        'git.import project:acme/api ok',
        'git.import project:acme/api2 error: git',
      ]);
    }, 120_000);
  });
});
