// Seed 002's schema and seed 004's lifecycle over real HTTP: type against the project's session types,
// agent against its agents, state, external_conversation_id, component, nested metadata, interactions;
// failed and suspended, DELETE, the caller's current session; one rule for unknown fields; the single-shot
// create that leaves nothing behind when refused; change_type checked against the tree; live list statistics.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';
import { Nfs3Client, NfsStatus } from '../lib/nfs3-client.js';

const ADMIN = 'admin-token-schema-test';
let t: TestDaemon;
const auth = (tok = ADMIN) => ({ authorization: `Bearer ${tok}` });
const call = (method: string, path: string, body?: unknown, tok?: string) => http(t.url, method, path, body, auth(tok));
const start = async (body: Record<string, unknown> = {}) => {
  const r = await call('POST', '/api/sessions/start', { project: 'acme/app', goal: 'g', ...body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.session.session_id as string;
};

beforeAll(async () => {
  t = await testDaemon({ token: ADMIN });
  await makeProject(t.dataDir, 'acme/app', { 'README.md': 'hello\n', 'src/a.txt': 'a\n' });
});
afterAll(async () => {
  await t?.close();
});

describe.sequential('seed 002 schema', () => {
  it('type and agent are checked against the project lists, which an admin sets; state, ids and nested metadata are kept', async () => {
    const cfg = await call('GET', '/api/projects/acme/app/session-config');
    expect(cfg.body.session_types).toContain('general');
    expect(cfg.body.agents).toContain('claude_code');
    expect((await call('POST', '/api/sessions/start', { project: 'acme/app', goal: 'g', type: 'spike' })).body).toMatchObject({
      error: 'invalid_input',
      field: 'type',
    });
    expect((await call('POST', '/api/sessions/start', { project: 'acme/app', goal: 'g', agent: 'hal' })).body).toMatchObject({
      error: 'invalid_input',
      field: 'agent',
    });
    const put = await call('PUT', '/api/projects/acme/app/session-config', {
      session_types: ['general', 'spike'],
      agents: ['claude_code', 'hal'],
    });
    expect(put.body).toEqual({ session_types: ['general', 'spike'], agents: ['claude_code', 'hal'], working_directories: [] });
    expect((await call('PUT', '/api/projects/acme/app/session-config', { types: ['x'] })).body).toMatchObject({ field: 'types' });
    const id = await start({
      type: 'spike',
      agent: 'hal',
      environment: 'vscode',
      execution_mode: 'agentic',
      state: { step: 2, plan: { todo: ['a', 'b'] } },
      external_conversation_id: 'conv-123',
      component_id: 'auth',
      metadata: { ticket: { id: 42, labels: ['x'] }, flag: true },
      account_id: 'acme',
    });
    const s = (await call('GET', `/api/sessions/${id}`)).body.session;
    expect(s).toMatchObject({
      type: 'spike',
      agent: 'hal',
      environment: 'vscode',
      execution_mode: 'agentic',
      state: { step: 2, plan: { todo: ['a', 'b'] } },
      external_conversation_id: 'conv-123',
      component_id: 'auth',
      metadata: { ticket: { id: 42, labels: ['x'] }, flag: true },
      user_id: 'admin',
      account_id: 'acme',
      interactions: [],
      interactions_count: 0,
    });
    expect((await call('POST', '/api/sessions/start', { project: 'acme/app', goal: 'g', account_id: 'other' })).body).toMatchObject({
      field: 'account_id',
    });
    expect((await call('GET', '/api/sessions?type=spike')).body.sessions.map((x: { session_id: string }) => x.session_id)).toEqual([id]);
    // PATCH changes them under the same checks
    expect((await call('PATCH', `/api/sessions/${id}`, { type: 'nope' })).body).toMatchObject({ field: 'type' });
    const p = await call('PATCH', `/api/sessions/${id}`, { state: { step: 3 }, metadata: { ticket: null, deep: { a: [1] } } });
    expect(p.body.session).toMatchObject({ state: { step: 3 }, metadata: { flag: true, deep: { a: [1] } } });
    expect(p.body.session.metadata.ticket).toBeUndefined();
    // a user who may not administer the project cannot change its lists
    await call('POST', '/api/users', { name: 'dev', roles: ['write@acme/app'] });
    const tok = (await call('POST', '/api/tokens', { user: 'dev' })).body.token as string;
    expect((await call('PUT', '/api/projects/acme/app/session-config', { agents: ['x'] }, tok)).status).toBe(403);
  });

  it('interactions: command/result pairs with timing and exit status, one or several, recorded with the caller', async () => {
    const id = await start();
    const one = await call('POST', `/api/sessions/${id}/interactions`, {
      command: 'npm test',
      result: '2 passed',
      exit_status: 0,
      started_at: '2026-01-12T07:30:00Z',
      ended_at: '2026-01-12T07:30:02.500Z',
    });
    expect(one.status).toBe(201);
    expect(one.body.interactions).toEqual([
      {
        command: 'npm test',
        result: '2 passed',
        exit_status: 0,
        started_at: '2026-01-12T07:30:00.000Z',
        ended_at: '2026-01-12T07:30:02.500Z',
        duration_ms: 2500,
        cwd: null,
        actor: 'admin',
      },
    ]);
    const two = await call('POST', `/api/sessions/${id}/interactions`, {
      interactions: [{ command: 'make', exit_status: 2, result: 'error' }, { command: 'ls' }],
    });
    expect(two.body.session.interactions_count).toBe(3);
    const got = (await call('GET', `/api/sessions/${id}`)).body.session.interactions;
    expect(got.map((i: { command: string; exit_status: number | null }) => [i.command, i.exit_status])).toEqual([
      ['npm test', 0],
      ['make', 2],
      ['ls', null],
    ]);
    for (const [body, field] of [
      [{ result: 'x' }, 'command'],
      [{ command: 'x', exit: 1 }, 'exit'],
      [{ command: 'x', exit_status: 1.5 }, 'exit_status'],
      [{ command: 'x', started_at: '2026-01-02T00:00:00Z', ended_at: '2026-01-01T00:00:00Z' }, 'ended_at'],
      [{ command: 'x', result: 'y'.repeat(70_000) }, 'result'],
      [{ interactions: [{ command: 'x', when: 1 }] }, 'interactions[0].when'],
    ] as const) {
      expect((await call('POST', `/api/sessions/${id}/interactions`, body)).body, JSON.stringify(body).slice(0, 80)).toMatchObject({
        error: 'invalid_input',
        field,
      });
    }
  });
});

describe.sequential('lifecycle', () => {
  it('failed keeps the tree, refuses landing until resumed; filters take both vocabularies', async () => {
    const id = await start();
    await call('POST', `/api/sessions/${id}/files`, { files: [{ path: 'f.txt', change_type: 'added', content: 'f\n' }] });
    const f = await call('POST', `/api/sessions/${id}/fail`, { reason: 'tests keep failing' });
    expect(f.body.session).toMatchObject({
      status: 'failed',
      failure: { reason: 'tests keep failing' },
      nfs_export_path: `/exports/sessions/${id}`,
    });
    expect((await call('GET', '/api/sessions?status=failed')).body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([id]);
    expect((await call('POST', `/api/sessions/${id}/land`, {})).status).toBe(409);
    expect((await call('POST', `/api/sessions/${id}/files`, { files: [{ path: 'g', change_type: 'added', content: '' }] })).status).toBe(
      409,
    );
    expect((await call('GET', `/api/sessions/${id}/changes?content=false`)).body.summary.total).toBe(1);
    expect((await call('POST', `/api/sessions/${id}/resume`)).body.session).toMatchObject({ status: 'active', failure: null });
    const landed = await call('POST', `/api/sessions/${id}/complete`, { commit_message: 'after all' });
    expect(landed.body.session.status).toBe('landed');
    const complete = (await call('GET', '/api/sessions?status=complete')).body.sessions.map((s: { session_id: string }) => s.session_id);
    expect(complete).toContain(id);
    expect((await call('GET', '/api/sessions?status=completed')).body.sessions).toEqual(
      (await call('GET', '/api/sessions?status=landed')).body.sessions,
    );
  });

  it('over NFS a failed session reads but refuses writes (ROFS) until resumed', async () => {
    const id = await start();
    const client = await Nfs3Client.connect(t.d.port);
    try {
      const root = await client.mountRoot(`/exports/sessions/${id}`);
      expect((await client.create(root, 'before.txt')).status).toBe(NfsStatus.OK);
      await call('POST', `/api/sessions/${id}/fail`, { reason: 'gave up' });
      expect((await client.lookup(root, 'README.md')).status).toBe(NfsStatus.OK);
      expect((await client.create(root, 'after.txt')).status).toBe(NfsStatus.ROFS);
      expect((await client.remove(root, 'before.txt')).status).toBe(NfsStatus.ROFS);
      await call('POST', `/api/sessions/${id}/resume`);
      expect((await client.create(root, 'after.txt')).status).toBe(NfsStatus.OK);
    } finally {
      await client.close();
    }
  });

  it('DELETE abandons a live session and frees its local data; a landed one is 409; a deleted one stays deletable', async () => {
    const id = await start();
    await call('POST', `/api/sessions/${id}/files`, { files: [{ path: 'x.txt', change_type: 'added', content: 'x\n' }] });
    expect(existsSync(join(t.dataDir, 'sessions', id))).toBe(true);
    const d = await call('DELETE', `/api/sessions/${id}`);
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ deleted: true, session: { status: 'abandoned', changes: { total: 1 } } });
    expect(existsSync(join(t.dataDir, 'sessions', id))).toBe(false);
    expect((await call('GET', '/api/sessions?status=cancelled')).body.sessions.map((s: { session_id: string }) => s.session_id)).toContain(
      id,
    );
    expect((await call('DELETE', `/api/sessions/${id}`)).status).toBe(200);
    const l = await start();
    await call('POST', `/api/sessions/${l}/land`, {});
    const refused = await call('DELETE', `/api/sessions/${l}`);
    expect(refused).toMatchObject({ status: 409, body: { error: 'invalid_state' } });
    expect((await call('GET', `/api/sessions/${l}`)).body.session.status).toBe('landed');
    expect((await call('DELETE', '/api/sessions/no-such')).status).toBe(404);
  });

  it('each caller has its own current session', async () => {
    const a = await start();
    expect((await call('GET', '/api/current-session')).body).toEqual({ session_id: null, session: null });
    expect((await call('PUT', '/api/current-session', { session_id: a })).body).toMatchObject({
      session_id: a,
      session: { session_id: a },
    });
    expect((await call('GET', '/api/current-session')).body.session_id).toBe(a);
    const tok = (await call('POST', '/api/tokens', { user: 'dev' })).body.token as string;
    expect((await call('GET', '/api/current-session', undefined, tok)).body.session_id).toBeNull();
    expect((await call('PUT', '/api/current-session', { session_id: 'no-such' })).status).toBe(404);
    expect((await call('PUT', '/api/current-session', { id: a })).body).toMatchObject({ field: 'id' });
    expect((await call('DELETE', '/api/current-session')).body.session_id).toBeNull();
    expect((await call('GET', '/api/current-session')).body.session_id).toBeNull();
  });
});

describe.sequential('one rule for unknown fields', () => {
  it('every session route answers 400 naming the field', async () => {
    const id = await start();
    const routes: [string, string][] = [
      ['POST', '/api/sessions/start'],
      ['POST', '/api/sessions'],
      ['PATCH', `/api/sessions/${id}`],
      ['POST', `/api/sessions/${id}/land`],
      ['POST', `/api/sessions/${id}/files`],
      ['POST', `/api/sessions/${id}/conversation`],
      ['POST', `/api/sessions/${id}/decisions`],
      ['POST', `/api/sessions/${id}/interactions`],
      ['POST', `/api/sessions/${id}/suspend`],
      ['POST', `/api/sessions/${id}/resume`],
      ['POST', `/api/sessions/${id}/fail`],
      ['POST', `/api/sessions/${id}/abandon`],
      ['POST', `/api/sessions/${id}/rebase`],
      ['POST', `/api/sessions/${id}/handoff`],
      ['POST', `/api/sessions/${id}/serve`],
      ['POST', `/api/sessions/${id}/end`],
      ['POST', `/api/sessions/${id}/complete`],
      ['POST', `/api/sessions/${id}/tasks`],
      ['POST', `/api/sessions/${id}/plans`],
      ['DELETE', `/api/sessions/${id}`],
      ['PUT', '/api/current-session'],
      ['PUT', '/api/projects/acme/app/session-config'],
      ['POST', '/api/projects/acme/app/import-git'],
      ['POST', '/api/projects/acme/app/export-git'],
      ['POST', '/api/gc'],
      ['POST', '/api/users'],
      ['POST', '/api/tokens'],
    ];
    for (const [method, path] of routes) {
      const r = await call(method, path, { goal: 'g', project: 'acme/app', files: [], bogus_field: 1 });
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.body.field, `${method} ${path}: ${r.body.message}`).toMatch(/^(bogus_field|goal|project|files)$/);
      const only = await call(method, path, { bogus_field: 1 });
      expect(only.status, `${method} ${path}`).toBe(400);
      expect(only.body.error).toBe('invalid_input');
    }
    // nested: a file, a message, a decision
    for (const body of [
      { files: [{ path: 'a', change_type: 'added', content: '', size: 1 }] },
      { conversation: [{ role: 'user', content: 'x', mood: 'ok' }] },
      { decisions: [{ decision: 'd', why: 'x' }] },
    ]) {
      const r = await call('POST', `/api/sessions/${id}/land`, body);
      expect(r.body).toMatchObject({ error: 'invalid_input', field: expect.stringMatching(/\[0\]\.(size|mood|why)$/) });
    }
    // nothing of the refused calls happened
    expect((await call('GET', `/api/sessions/${id}`)).body.session.status).toBe('active');
  });
});

describe.sequential('fixes', () => {
  it('a refused single-shot create leaves no session; the retry with the same id lands', async () => {
    const body = {
      session_id: 'atomic-1',
      goal: 'atomic',
      organization: 'acme',
      project: 'app',
      files: [
        { path: 'new.txt', change_type: 'added', content: 'n\n' },
        { path: 'missing.txt', change_type: 'modified', content: 'm\n' },
      ],
    };
    const bad = await call('POST', '/api/sessions', body);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'invalid_input', field: 'files[1].change_type' });
    expect(bad.body.message).toMatch(/missing\.txt/);
    expect((await call('GET', '/api/sessions/atomic-1')).status).toBe(404);
    expect(
      (await call('GET', '/api/sessions?limit=1000')).body.sessions.some((s: { session_id: string }) => s.session_id === 'atomic-1'),
    ).toBe(false);
    expect(existsSync(join(t.dataDir, 'sessions', 'atomic-1'))).toBe(false);
    const good = await call('POST', '/api/sessions', { ...body, files: [body.files[0], { ...body.files[1], change_type: 'added' }] });
    expect(good.status, JSON.stringify(good.body)).toBe(201);
    expect(good.body.session).toMatchObject({ session_id: 'atomic-1', status: 'landed', changes: { total: 2, added: 2 } });
  });

  it('change_type must match the tree, or be auto', async () => {
    const id = await start();
    const cases: [unknown, string, RegExp][] = [
      [{ path: 'README.md', change_type: 'added', content: 'x' }, 'files[0].change_type', /README\.md already exists/],
      [{ path: 'nope.txt', change_type: 'modified', content: 'x' }, 'files[0].change_type', /nope\.txt does not exist/],
      [{ path: 'nope.txt', change_type: 'deleted' }, 'files[0].change_type', /nope\.txt does not exist/],
    ];
    for (const [f, field, msg] of cases) {
      const r = await call('POST', `/api/sessions/${id}/files`, { files: [f] });
      expect(r.body).toMatchObject({ error: 'invalid_input', field });
      expect(r.body.message).toMatch(msg);
    }
    // in order: an entry counts what earlier ones did
    const seq = await call('POST', `/api/sessions/${id}/files`, {
      files: [
        { path: 'src/a.txt', change_type: 'deleted' },
        { path: 'src/a.txt', change_type: 'added', content: 'again\n' },
        { path: 'README.md', change_type: 'auto', content: 'auto\n' },
        { path: 'brand/new.txt', change_type: 'auto', content: 'new\n' },
      ],
    });
    expect(seq.status, JSON.stringify(seq.body)).toBe(200);
    const ch = (await call('GET', `/api/sessions/${id}/changes?content=false`)).body;
    const types = Object.fromEntries(ch.changes.map((c: { path: string; change_type: string }) => [c.path, c.change_type]));
    expect(types).toEqual({ 'README.md': 'modified', 'brand/new.txt': 'added', 'src/a.txt': 'modified' });
  });

  it('the list shows the changes of live sessions', async () => {
    const id = await start();
    await call('POST', `/api/sessions/${id}/files`, {
      files: [
        { path: 'one.txt', change_type: 'added', content: '1\n' },
        { path: 'README.md', change_type: 'modified', content: 'changed\n' },
        { path: 'src/a.txt', change_type: 'deleted' },
      ],
    });
    const row = (await call('GET', '/api/sessions?status=active&limit=1000')).body.sessions.find(
      (s: { session_id: string }) => s.session_id === id,
    );
    expect(row.changes).toEqual({ total: 3, added: 1, modified: 1, deleted: 1 });
    await call('POST', `/api/sessions/${id}/files`, { files: [{ path: 'two.txt', change_type: 'added', content: '2\n' }] });
    const again = (await call('GET', '/api/sessions?status=active&limit=1000')).body.sessions.find(
      (s: { session_id: string }) => s.session_id === id,
    );
    expect(again.changes).toEqual({ total: 4, added: 2, modified: 1, deleted: 1 });
  });
});
