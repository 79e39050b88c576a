// The design's contract, sent as it writes it: StartSession {project_id, goal, description} answers
// session_id, nfs_export_path and base_tree_hash; LandSession {commit_message} answers new_tree_hash,
// landed_commit and the changed files; the status names complete and cancelled filter the list; the
// CLI forms `mic session start "<title>" --project=... --goal=...`, --organization and
// `land --session-id` work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMic } from '../lib/daemon.js';
import { http, makeProject, tempDir, testDaemon, type TestDaemon } from '../session/helpers.js';

let t: TestDaemon;
const call = (method: string, path: string, body?: unknown) => http(t.url, method, path, body);
const HEX = /^[0-9a-f]{64}$/;

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, 'myorg/myproject', { 'README.md': 'hello\n', 'src/old.ts': 'old\n' });
});
afterAll(async () => {
  await t?.close();
});

describe.sequential("the design's session contract", () => {
  let id = '';
  it('StartSession: project_id, goal, description -> session_id, nfs_export_path, base_tree_hash', async () => {
    const r = await call('POST', '/api/sessions/start', {
      project_id: 'myorg/myproject',
      goal: 'Implement JWT-based auth for API',
      description: 'add authentication',
    });
    expect(r.status).toBe(201);
    const s = r.body.session;
    id = s.session_id;
    expect(s.nfs_export_path).toBe(`/exports/sessions/${id}`);
    expect(s.nfs_export_path).toBe(s.export);
    expect(s.base_tree_hash).toMatch(HEX);
    expect(s.base_tree_hash).toBe(s.base_tree);
    expect(s.landed_commit).toBeNull();
    expect(
      (await call('POST', '/api/sessions/start', { project_id: 'myorg/myproject', project: 'other/x', goal: 'g' })).body,
    ).toMatchObject({ error: 'invalid_input', field: 'project_id' });
  });

  it('LandSession: commit_message -> new_tree_hash, landed_commit and each changed file', async () => {
    await call('POST', `/api/sessions/${id}/files`, {
      files: [
        { path: 'src/auth.ts', change_type: 'added', content: 'export const jwt = 1;\n' },
        { path: 'README.md', change_type: 'modified', content: 'hello auth\n' },
        { path: 'src/old.ts', change_type: 'deleted' },
      ],
    });
    // LandSessionRequest {session_id, commit_message}, as the design writes it; another id than the path's is refused
    expect((await call('POST', `/api/sessions/${id}/land`, { session_id: 'sess-other', commit_message: 'x' })).body).toMatchObject({
      error: 'invalid_input',
      field: 'session_id',
    });
    const r = await call('POST', `/api/sessions/${id}/land`, { session_id: id, commit_message: 'Add JWT authentication' });
    expect(r.status).toBe(200);
    expect(r.body.head.message).toBe('Add JWT authentication');
    expect(r.body.new_tree_hash).toBe(r.body.head.tree);
    expect(r.body.landed_commit).toBe(r.body.head.hash);
    expect(r.body.session.landed_commit).toBe(r.body.head.hash);
    expect(r.body.changes_truncated).toBe(false);
    const byPath = Object.fromEntries(r.body.changes.map((c: { path: string }) => [c.path, c]));
    expect(Object.keys(byPath).sort()).toEqual(['README.md', 'src/auth.ts', 'src/old.ts']);
    expect(byPath['src/auth.ts']).toMatchObject({ change_type: 'added', old_hash: null, new_hash: expect.stringMatching(HEX) });
    expect(byPath['README.md']).toMatchObject({
      change_type: 'modified',
      old_hash: expect.stringMatching(HEX),
      new_hash: expect.stringMatching(HEX),
    });
    expect(byPath['src/old.ts']).toMatchObject({ change_type: 'deleted', old_hash: expect.stringMatching(HEX), new_hash: null });
  });

  it('the status names complete and cancelled filter the list', async () => {
    const other = (await call('POST', '/api/sessions/start', { project: 'myorg/myproject', goal: 'give up' })).body.session.session_id;
    await call('POST', `/api/sessions/${other}/abandon`);
    const complete = (await call('GET', '/api/sessions?status=complete')).body.sessions.map((s: { session_id: string }) => s.session_id);
    expect(complete).toEqual([id]);
    const cancelled = (await call('GET', '/api/sessions?status=cancelled')).body.sessions.map((s: { session_id: string }) => s.session_id);
    expect(cancelled).toEqual([other]);
    expect((await call('GET', '/api/sessions?status=finished')).body).toMatchObject({ error: 'invalid_input', field: 'status' });
  });
});

describe.sequential('the CLI forms of the design', () => {
  let dir = '';
  const mic = (...args: string[]) => runMic([...args, '--data-dir', dir]);
  beforeAll(async () => {
    dir = await tempDir('micfs-cli-seed-');
    await makeProject(dir, 'myorg/myproject', { 'README.md': 'x\n' });
  });

  it('start "<title>" --project=... --goal=... keeps both; --organization with a bare project name; land --session-id', async () => {
    const a = await mic(
      'session',
      'start',
      'add authentication',
      '--project=myorg/myproject',
      '--goal=Implement JWT-based auth for API',
      '--json',
    );
    expect(a.code).toBe(0);
    const s = JSON.parse(a.stdout).session;
    expect(s.goal).toBe('Implement JWT-based auth for API');
    expect(s.metadata.title).toBe('add authentication');
    const b = await mic('session', 'start', 'add authentication', '--project', 'myorg/myproject', '--json');
    expect(JSON.parse(b.stdout).session.goal).toBe('add authentication');
    const c = await mic(
      'session',
      'start',
      '--organization',
      'myorg',
      '--project',
      'myproject',
      '--goal',
      'org form',
      '--session-id',
      'sess-org-form',
      '--json',
    );
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout).session).toMatchObject({ session_id: 'sess-org-form', project: 'myorg/myproject' });
    const none = await mic('session', 'start', '--project', 'myorg/myproject');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/give the goal/);
    const land = await mic('session', 'land', '--session-id', 'sess-org-form', '--message=landed by flag', '--json');
    expect(land.code).toBe(0);
    expect(JSON.parse(land.stdout).head.message).toBe('landed by flag');
  }, 60_000);
});
