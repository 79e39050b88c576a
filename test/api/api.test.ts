// The HTTP API end to end over real HTTP on 127.0.0.1, against an in-process daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/client.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { http, makeProject, silent, tempDir, testDaemon, type TestDaemon } from '../session/helpers.js';
import { SEED_000_REQUEST } from '../lib/ui-fixtures.js'; // a typical single-shot request

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

let t: TestDaemon;

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, 'myorg/myapp', {
    'src/main.ex': 'defmodule Main do\nend\n',
    'src/old_auth.ex': 'old\n',
    'README.md': 'app\n',
  });
  await makeProject(t.dataDir, 'acme/app', {
    'README.md': 'hello\n',
    'src/a.txt': 'a1\na2\na3\n',
    'src/b.txt': 'b\n',
    'docs/guide.md': 'guide\n',
    'shared.txt': 'base\n',
  });
});

afterAll(async () => {
  await t?.close();
});

describe('single-shot POST /api/sessions', () => {
  it('starts, applies the files and lands in one call, answering with the documented session body (docs/api.md)', async () => {
    const res = await http(t.url, 'POST', '/api/sessions', SEED_000_REQUEST);
    expect(res.status).toBe(201);
    const s = res.body.session;
    expect(s).toMatchObject({
      session_id: 'unique-id',
      goal: 'Add authentication system',
      project: 'myorg/myapp',
      status: 'landed',
      conversation_count: 2,
      decisions_count: 1,
      changes: { total: 3, added: 1, modified: 1, deleted: 1 },
    });
    expect(typeof s.id).toBe('string');
    expect(s.started_at).toMatch(ISO);
    expect(s.landed_at).toMatch(ISO);
    expect(Date.parse(s.landed_at)).toBeGreaterThanOrEqual(Date.parse(s.started_at));

    // the head moved, recording the session, and holds the files
    const head = (await t.api.head('myorg/myapp')).head;
    expect(head.session).toBe('unique-id');
    expect(head.goal).toBe('Add authentication system');
    const blame = await t.api.blame('myorg/myapp', 'src/auth/jwt.ex');
    expect(blame.head.hash).toBe(head.hash);
    expect(blame.goal).toBe('Add authentication system');
    const blob = await t.api.blob(
      'myorg/myapp',
      (await t.api.showHead('myorg/myapp', head.hash)).changes.find((c) => c.path === 'src/main.ex')!.hash!,
    );
    expect(blob.toString()).toBe('# Updated with auth routes...');
    // README was not touched: blame names the import
    expect((await t.api.blame('myorg/myapp', 'README.md')).head.session).toBeNull();

    // the record keeps the conversation and decisions, and a timeline
    const full = (await t.api.get('unique-id')).session;
    expect(full.conversation.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(full.decisions[0]).toMatchObject({
      decision: 'Use JWT tokens for stateless auth',
      reasoning: 'Keeps the system scalable and cloud-friendly',
    });
    const types = full.timeline.map((e) => e.type);
    expect(types[0]).toBe('started');
    expect(types).toContain('landed');
    expect(full.timeline.filter((e) => e.type === 'file').map((e) => `${e.change_type} ${e.path}`)).toEqual(
      expect.arrayContaining(['added src/auth/jwt.ex', 'modified src/main.ex', 'deleted src/old_auth.ex']),
    );
  });

  it('refuses the same session id twice (409) and bad files before creating anything (400)', async () => {
    const again = await http(t.url, 'POST', '/api/sessions', SEED_000_REQUEST);
    expect(again.status).toBe(409);
    const bad = await http(t.url, 'POST', '/api/sessions', {
      ...SEED_000_REQUEST,
      session_id: 'never-made',
      files: [{ path: '../etc/passwd', change_type: 'added', content: 'x' }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'invalid_input', field: 'files[0].path' });
    expect(bad.body.reason).toMatch(/\.\./);
    expect((await http(t.url, 'GET', '/api/sessions/never-made')).status).toBe(404);
  });
});

describe('session lifecycle', () => {
  it('start, apply files, look at changes and diff, land', async () => {
    const started = await http(t.url, 'POST', '/api/sessions/start', {
      goal: 'tidy the docs',
      organization: 'acme',
      project: 'app',
      description: 'longer text',
      tags: ['docs'],
      metadata: { ticket: 'T-1' },
      agent: 'claude_code',
      environment: 'local',
      execution_mode: 'agentic',
      conversation: [{ role: 'user', content: 'please tidy' }],
    });
    expect(started.status).toBe(201);
    const s = started.body.session;
    expect(s).toMatchObject({
      goal: 'tidy the docs',
      project: 'acme/app',
      organization: 'acme',
      status: 'active',
      export: `/exports/sessions/${s.session_id}`,
      conversation_count: 1,
      decisions_count: 0,
      tags: ['docs'],
      metadata: { ticket: 'T-1' },
      agent: 'claude_code',
      environment: 'local',
      execution_mode: 'agentic',
      landed_at: null,
      changes: { total: 0, added: 0, modified: 0, deleted: 0 },
    });
    const id = s.session_id as string;
    // the daemon serves it
    expect(t.d.exports.served(id)).toBeDefined();

    const f = await t.api.files(id, {
      files: [
        { path: 'docs/guide.md', change_type: 'modified', content: 'guide\nmore\n' },
        { path: 'docs/new/page.md', change_type: 'added', content: '# page\n' },
        { path: 'src/b.txt', change_type: 'deleted' },
      ],
    });
    expect(f.applied).toBe(3);
    const got = (await t.api.get(id)).session;
    expect(got.changes).toEqual({ total: 3, added: 1, modified: 1, deleted: 1 });

    const ch = await t.api.changes(id);
    expect(ch.summary).toEqual({ total: 3, added: 1, modified: 1, deleted: 1 });
    expect(ch.changes.map((c) => [c.path, c.change_type, c.lines_added, c.lines_removed])).toEqual([
      ['docs/guide.md', 'modified', 1, 0],
      ['docs/new/page.md', 'added', 1, 0],
      ['src/b.txt', 'deleted', 0, 1],
    ]);
    expect(ch.changes[1].content).toBe('# page\n');
    const noContent = await t.api.changes(id, { content: false });
    expect(noContent.changes[1].content).toBeNull();

    const diff = await t.api.diff(id);
    expect(diff.diff).toContain('+++ b/docs/new/page.md');
    expect(diff.diff).toContain('+more');
    expect(diff.diff).toContain('-b');
    const text = await fetch(`${t.url}/api/sessions/${id}/diff?format=text`);
    expect(text.headers.get('content-type')).toMatch(/text\/x-diff/);
    expect(await text.text()).toBe(diff.diff);

    const before = (await t.api.head('acme/app')).head;
    const landed = await t.api.land(id, { message: 'docs tidied', decisions: [{ decision: 'keep one guide', reasoning: 'less to read' }] });
    expect(landed.session.status).toBe('landed');
    expect(landed.session.export).toBeNull();
    expect(landed.session.decisions_count).toBe(1);
    expect(landed.head).toMatchObject({ parent: before.hash, session: id, message: 'docs tidied' });
    expect((await t.api.head('acme/app')).head.hash).toBe(landed.head.hash);
    expect(t.d.exports.served(id)).toBeUndefined();

    // log and show
    const log = await t.api.log('acme/app', { limit: 1 });
    expect(log.heads.map((h) => h.hash)).toEqual([landed.head.hash]);
    expect(log.next).toBe(before.hash);
    const show = await t.api.showHead('acme/app', landed.head.hash.slice(0, 10));
    expect(show.session?.session_id).toBe(id);
    expect(show.summary).toEqual({ total: 3, added: 1, modified: 1, deleted: 1 });

    // a landed session is immutable
    for (const [method, path, body] of [
      ['POST', `/api/sessions/${id}/land`, {}],
      ['POST', `/api/sessions/${id}/conversation`, { role: 'user', content: 'late' }],
      ['POST', `/api/sessions/${id}/decisions`, { decision: 'late' }],
      ['PATCH', `/api/sessions/${id}`, { tags: ['x'] }],
      ['POST', `/api/sessions/${id}/files`, { files: [{ path: 'x', change_type: 'added', content: '' }] }],
      ['POST', `/api/sessions/${id}/suspend`, undefined],
      ['POST', `/api/sessions/${id}/abandon`, undefined],
    ] as const) {
      const r = await http(t.url, method, path, body);
      expect(r.status, `${method} ${path}`).toBe(409);
    }
    expect((await t.api.get(id)).session.decisions_count).toBe(1);
    // its changes are still there to read
    expect((await t.api.changes(id)).summary.total).toBe(3);
  });

  it('conversation, decisions (one or several), PATCH of metadata and tags', async () => {
    const id = (await t.api.start({ goal: 'annotate', project: 'acme/app' })).session.session_id;
    let s = (await t.api.conversation(id, { role: 'user', content: 'hi' })).session;
    expect(s.conversation_count).toBe(1);
    s = (
      await t.api.conversation(id, {
        messages: [
          { role: 'assistant', content: 'a' },
          { role: 'user', content: 'b', time: '2026-01-12T07:30:00Z' },
        ],
      })
    ).session;
    expect(s.conversation_count).toBe(3);
    await t.api.decisions(id, { decision: 'd1', reasoning: 'r1' });
    s = (await t.api.decisions(id, { decisions: [{ decision: 'd2' }] })).session;
    expect(s.decisions_count).toBe(2);
    const full = (await t.api.get(id)).session;
    expect(full.conversation[2]).toEqual({ role: 'user', content: 'b', time: '2026-01-12T07:30:00.000Z' });
    expect(full.decisions[1]).toMatchObject({ decision: 'd2', reasoning: '' });

    await t.api.patch(id, { metadata: { a: '1', b: '2' }, tags: ['one', 'two'] });
    s = (await t.api.patch(id, { metadata: { a: null, c: '3' }, add_tags: ['three'], remove_tags: ['one'], goal: 'annotate better' }))
      .session;
    expect(s.metadata).toEqual({ b: '2', c: '3' });
    expect(s.tags).toEqual(['two', 'three']);
    expect(s.goal).toBe('annotate better');
    const bad = await http(t.url, 'PATCH', `/api/sessions/${id}`, { status: 'landed' });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('status');
  });

  it('suspend, resume and abandon; ended sessions keep their changes visible', async () => {
    const id = (await t.api.start({ goal: 'to abandon', project: 'acme/app' })).session.session_id;
    await t.api.files(id, { files: [{ path: 'scratch.txt', change_type: 'added', content: 'tmp\n' }] });
    expect((await t.api.suspend(id)).session.status).toBe('suspended');
    const refused = await http(t.url, 'POST', `/api/sessions/${id}/land`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('invalid_state');
    expect((await http(t.url, 'POST', `/api/sessions/${id}/suspend`)).status).toBe(409);
    expect((await t.api.resume(id)).session.status).toBe('active');
    expect((await http(t.url, 'POST', `/api/sessions/${id}/resume`)).status).toBe(409);
    const ab = (await t.api.abandon(id)).session;
    expect(ab.status).toBe('abandoned');
    expect(ab.ended_at).toMatch(ISO);
    expect(ab.export).toBeNull();
    expect(t.d.exports.served(id)).toBeUndefined();
    expect((await t.api.changes(id)).changes.map((c) => c.path)).toEqual(['scratch.txt']);
    expect((await http(t.url, 'POST', `/api/sessions/${id}/resume`)).status).toBe(409);
    const timeline = (await t.api.get(id)).session.timeline.filter((e) => e.type === 'status').map((e) => e.status);
    expect(timeline).toEqual(['suspended', 'active', 'abandoned']);
  });

  it('lists with status, tag and project filters, newest first, in pages with a cursor', async () => {
    const mk = async (goal: string, tags: string[]) => (await t.api.start({ goal, project: 'acme/app', tags })).session;
    const made = [await mk('l1', ['list-test', 'x']), await mk('l2', ['list-test']), await mk('l3', ['list-test', 'x'])];
    const newest = newestFirst(made).map((s) => s.session_id);
    const ids = made.map((s) => s.session_id);
    await t.api.suspend(ids[1]);
    const all = await t.api.list({ tag: 'list-test' });
    expect(all.sessions.map((s) => s.session_id)).toEqual(newest);
    expect(all.total).toBeNull(); // counting would read every record
    expect(all.next_cursor).toBeNull();
    expect((await t.api.list({ tag: 'x' })).sessions.map((s) => s.session_id)).toEqual(newest.filter((id) => id !== ids[1]));
    const susp = await t.api.list({ tag: 'list-test', status: 'suspended' });
    expect([susp.sessions.map((s) => s.session_id), susp.total]).toEqual([[ids[1]], 1]);
    const p1 = await t.api.list({ tag: 'list-test', limit: 2 });
    expect(p1.sessions.map((s) => s.session_id)).toEqual(newest.slice(0, 2));
    expect(p1.next_cursor).toEqual(expect.any(String));
    const p2 = await t.api.list({ tag: 'list-test', limit: 2, cursor: p1.next_cursor! });
    expect(p2.sessions.map((s) => s.session_id)).toEqual(newest.slice(2));
    expect(p2.next_cursor).toBeNull();
    expect((await t.api.list({ project: 'myorg/myapp' })).sessions.map((s) => s.session_id)).toEqual(['unique-id']);
    expect(
      (await t.api.list({ project: 'acme/app', status: 'landed' })).sessions.every(
        (s) => s.project === 'acme/app' && s.status === 'landed',
      ),
    ).toBe(true);
  });
});

/** The list's order: started_at descending, then session id in byte order. */
function newestFirst<T extends { started_at: string; session_id: string }>(l: T[]): T[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...l].sort((a, b) => cmp(b.started_at, a.started_at) || cmp(a.session_id, b.session_id));
}

describe('conflicts and rebase', () => {
  it('a session that changed a file the head changed meanwhile gets 409 with the conflicts and stays active', async () => {
    const a = (await t.api.start({ goal: 'A', project: 'acme/app' })).session.session_id;
    const b = (await t.api.start({ goal: 'B', project: 'acme/app' })).session.session_id;
    await t.api.files(a, {
      files: [
        { path: 'shared.txt', change_type: 'modified', content: 'from A\n' },
        { path: 'src/a.txt', change_type: 'deleted' },
        { path: 'both-new.txt', change_type: 'added', content: 'A\n' },
        { path: 'same.txt', change_type: 'added', content: 'identical\n' },
      ],
    });
    await t.api.files(b, {
      files: [
        { path: 'shared.txt', change_type: 'modified', content: 'from B\n' },
        { path: 'src/a.txt', change_type: 'modified', content: 'B edits a\n' },
        { path: 'both-new.txt', change_type: 'added', content: 'B\n' },
        { path: 'same.txt', change_type: 'added', content: 'identical\n' },
        { path: 'only-b.txt', change_type: 'added', content: 'b only\n' },
      ],
    });
    await t.api.land(a);
    const res = await http(t.url, 'POST', `/api/sessions/${b}/land`, { message: 'B lands' });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('conflict');
    expect(res.body.conflicts.map((c: { path: string; kind: string }) => [c.path, c.kind])).toEqual([
      ['both-new.txt', 'add/add'],
      ['shared.txt', 'modify/modify'],
      ['src/a.txt', 'modify/delete'],
    ]);
    expect(res.body.session.status).toBe('active');
    expect((await t.api.get(b)).session.status).toBe('active');
    expect(t.d.exports.served(b)).toBeDefined();
    // the typed client throws ApiError with the same body
    const e = await t.api.land(b).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(409);
    expect((e as ApiError).body.conflicts).toHaveLength(3);

    // rebase onto the head: markers for text, the session's version for modify/delete
    const rb = await t.api.rebase(b);
    expect(rb.rebased).toBe(true);
    expect(rb.to).toBe((await t.api.head('acme/app')).head.hash);
    expect(rb.conflicts.map((c) => [c.path, c.resolution])).toEqual([
      ['both-new.txt', 'markers'],
      ['shared.txt', 'markers'],
      ['src/a.txt', 'session'],
    ]);
    const ch = await t.api.changes(b);
    const by = new Map(ch.changes.map((c) => [c.path, c]));
    expect(by.get('shared.txt')!.content).toMatch(/^<<<<<<< session\nfrom B\n=======\nfrom A\n>>>>>>> head [0-9a-f]{12}\n$/);
    expect(by.get('only-b.txt')!.change_type).toBe('added');
    expect(by.get('src/a.txt')!.change_type).toBe('added'); // A deleted it; B keeps its version
    expect(by.has('same.txt')).toBe(false); // identical on both sides: nothing left to land
    // the user resolves, then lands cleanly
    await t.api.files(b, {
      files: [
        { path: 'shared.txt', change_type: 'modified', content: 'from A and B\n' },
        { path: 'both-new.txt', change_type: 'modified', content: 'A+B\n' },
      ],
    });
    const landed = await t.api.land(b);
    expect(landed.head.parent).toBe(rb.to);
    const show = await t.api.showHead('acme/app', 'HEAD');
    expect(show.changes.map((c) => `${c.change_type} ${c.path}`).sort()).toEqual([
      'added only-b.txt',
      'added src/a.txt',
      'modified both-new.txt',
      'modified shared.txt',
    ]);
  });

  it('disjoint changes of two sessions both land, the second by merging', async () => {
    const a = (await t.api.start({ goal: 'A2', project: 'acme/app' })).session.session_id;
    const b = (await t.api.start({ goal: 'B2', project: 'acme/app' })).session.session_id;
    await t.api.files(a, { files: [{ path: 'docs/a2.md', change_type: 'added', content: 'a2\n' }] });
    await t.api.files(b, { files: [{ path: 'docs/b2.md', change_type: 'added', content: 'b2\n' }] });
    const la = await t.api.land(a);
    const lb = await t.api.land(b);
    expect(lb.head.parent).toBe(la.head.hash);
    const c = await t.api.start({ goal: 'C', project: 'acme/app' });
    const names = (await t.api.showHead('acme/app', 'HEAD')).changes.map((x) => x.path);
    expect(names).toEqual(['docs/b2.md']);
    expect(c.session.base_head).toBe(lb.head.hash);
    expect((await t.api.blame('acme/app', 'docs/a2.md')).session?.session_id).toBe(a);
    expect((await t.api.blame('acme/app', 'docs/b2.md')).goal).toBe('B2');
  });
});

describe('errors', () => {
  it('400 names the field and the reason', async () => {
    const id = (await t.api.start({ goal: 'errors', project: 'acme/app' })).session.session_id;
    const cases: [string, string, unknown, string, RegExp?][] = [
      ['POST', '/api/sessions/start', { project: 'acme/app' }, 'goal'],
      ['POST', '/api/sessions/start', { goal: 'g' }, 'project'],
      ['POST', '/api/sessions/start', { goal: 'g', project: 'app' }, 'organization'],
      ['POST', '/api/sessions/start', { goal: 'g', project: 'acme/app', session_id: '../x' }, 'session_id'],
      ['POST', '/api/sessions/start', { goal: 'g', project: 'acme/app', environment: 'cloud' }, 'environment'],
      ['POST', '/api/sessions/start', { goal: 'g', project: 'acme/app', tags: 'x' }, 'tags'],
      ['POST', '/api/sessions/start', { goal: 'g', project: 'acme/app', conversation: [{ role: 'user' }] }, 'conversation[0].content'],
      ['POST', '/api/sessions/start', { goal: 'g', project: 'acme/app', metadata: { k: 'x'.repeat(70_000) } }, 'metadata'],
      ['POST', '/api/sessions/start', { goal: 'g', project: 'acme/app', state: [1] }, 'state'],
      ['POST', '/api/sessions/start', { goal: 'g', project: 'acme/app', type: 'nonsense' }, 'type'],
      ['POST', '/api/sessions/start', { goal: 'g', project: 'acme/app', agent: 'hal9000' }, 'agent'],
      ['POST', '/api/sessions/start', { goal: 'g', project: 'acme/app', colour: 'red' }, 'colour'],
      ['POST', '/api/sessions/start', '{not json', 'body', /JSON/],
      ['POST', '/api/sessions/start', [1, 2], 'body'],
      ['POST', `/api/sessions/${id}/files`, { files: [{ path: 'a/../../b', change_type: 'added', content: '' }] }, 'files[0].path', /\.\./],
      [
        'POST',
        `/api/sessions/${id}/files`,
        { files: [{ path: '/etc/passwd', change_type: 'added', content: '' }] },
        'files[0].path',
        /absolute/,
      ],
      [
        'POST',
        `/api/sessions/${id}/files`,
        { files: [{ path: 'ok.txt', change_type: 'renamed', content: '' }] },
        'files[0].change_type',
        /unknown change_type/,
      ],
      ['POST', `/api/sessions/${id}/files`, { files: [{ path: 'ok.txt', change_type: 'added' }] }, 'files[0].content'],
      [
        'POST',
        `/api/sessions/${id}/files`,
        { files: [{ path: 'README.md/x', change_type: 'added', content: '' }] },
        'files[0].path',
        /not a directory/,
      ],
      [
        'POST',
        `/api/sessions/${id}/files`,
        { files: [{ path: 'src', change_type: 'modified', content: '' }] },
        'files[0].path',
        /is a directory/,
      ],
      ['POST', `/api/sessions/${id}/files`, { files: [{ path: 'a//b', change_type: 'added', content: '' }] }, 'files[0].path'],
      ['POST', `/api/sessions/${id}/files`, {}, 'files'],
      ['POST', `/api/sessions/${id}/land`, { files: [{ path: '..', change_type: 'deleted' }] }, 'files[0].path'],
      ['POST', `/api/sessions/${id}/land`, { message: 42 }, 'message'],
      ['POST', `/api/sessions/${id}/conversation`, { content: 'no role' }, 'role'],
      ['POST', `/api/sessions/${id}/decisions`, { reasoning: 'no decision' }, 'decision'],
      ['GET', '/api/sessions?status=done', undefined, 'status'],
      ['GET', '/api/sessions?limit=0', undefined, 'limit'],
      ['GET', '/api/sessions?project=nope', undefined, 'project'],
      ['GET', '/api/sessions?cursor=bm90IGEgY3Vyc29y', undefined, 'cursor'],
      ['GET', '/api/sessions?offset=50', undefined, 'offset'],
      ['GET', `/api/sessions/${id}/changes?content=maybe`, undefined, 'content'],
      ['GET', '/api/projects/acme/app/blame?path=../x', undefined, 'path'],
      ['GET', '/api/projects/acme/app/heads/zz', undefined, 'head'],
    ];
    for (const [method, path, body, field, reason] of cases) {
      const r = await http(t.url, method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.error).toBe('invalid_input');
      expect(r.body.field, `${method} ${path}`).toBe(field);
      expect(typeof r.body.reason).toBe('string');
      if (reason) expect(r.body.reason).toMatch(reason);
    }
    // nothing of a rejected request was applied
    expect((await t.api.changes(id)).summary.total).toBe(0);
  });

  it('404 for unknown sessions, projects, heads and routes; 405 for a wrong method', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/sessions/no-such-session', undefined],
      ['GET', '/api/sessions/..%2Fescape', undefined],
      ['POST', '/api/sessions/no-such-session/land', {}],
      ['POST', '/api/sessions/no-such-session/conversation', { role: 'u', content: 'c' }],
      ['PATCH', '/api/sessions/no-such-session', { tags: [] }],
      ['GET', '/api/sessions/no-such-session/changes', undefined],
      ['POST', '/api/sessions/start', { goal: 'g', project: 'nobody/nothing' }],
      ['GET', '/api/projects/nobody/nothing/head', undefined],
      ['GET', `/api/projects/acme/app/heads/${'0'.repeat(64)}`, undefined],
      ['GET', '/api/projects/acme/app/blame?path=no/such/file', undefined],
      ['GET', '/api/nothing', undefined],
    ] as const) {
      const r = await http(t.url, method, path, body);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error).toBe('not_found');
    }
    const r = await http(t.url, 'DELETE', '/api/sessions');
    expect(r.status).toBe(405);
  });

  it('bad input never gets a 500', async () => {
    const id = (await t.api.start({ goal: 'fuzz', project: 'acme/app' })).session.session_id;
    const junk: unknown[] = [
      null,
      0,
      'x',
      [],
      {},
      { files: null },
      { files: [null] },
      { files: [{}] },
      { files: [{ path: 1, change_type: 'added' }] },
      { files: [{ path: 'x', change_type: 'added', content: 'AAA', encoding: 'base64x' }] },
      { files: [{ path: 'x', change_type: 'added', content: '', mode: 'rwx' }] },
      { files: [{ path: 'é\uD800', change_type: 'added', content: '' }] },
      { files: [{ path: 'x'.repeat(300), change_type: 'added', content: '' }] },
      { conversation: {} },
      { decisions: [1] },
      { metadata: [] },
      { message: {} },
      { goal: '', project: 'a/b' },
      { tags: [''] },
      { role: 1, content: 2 },
      { messages: 'x' },
      { decisions: {} },
    ];
    const routes: [string, string][] = [
      ['POST', '/api/sessions/start'],
      ['POST', '/api/sessions'],
      ['POST', `/api/sessions/${id}/files`],
      ['POST', `/api/sessions/${id}/conversation`],
      ['POST', `/api/sessions/${id}/decisions`],
      ['PATCH', `/api/sessions/${id}`],
      ['POST', `/api/sessions/${id}/land`],
    ];
    for (const [method, path] of routes) {
      for (const body of junk) {
        const r = await http(t.url, method, path, JSON.stringify(body));
        expect(r.status, `${method} ${path} ${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`).toBeLessThan(500);
        if (r.status >= 400) expect(r.body).toHaveProperty('error');
      }
    }
    // junk that is valid (an empty body lands) did what it says; the rest left the session readable
    expect((await http(t.url, 'GET', `/api/sessions/${id}`)).status).toBe(200);
  });
});

describe('authentication', () => {
  it('requires the bearer token when one is set', async () => {
    const dataDir = await tempDir('micfs-data-');
    await makeProject(dataDir, 'acme/app', { f: 'f\n' });
    const s = await testDaemon({ dataDir, token: 'sekrit' });
    try {
      expect((await http(s.url, 'GET', '/api/sessions')).status).toBe(401);
      expect((await http(s.url, 'GET', '/api/sessions', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
      expect((await http(s.url, 'GET', '/api/sessions', undefined, { authorization: 'Bearer sekrit' })).status).toBe(200);
      expect((await s.api.start({ goal: 'authed', project: 'acme/app' })).session.status).toBe('active');
    } finally {
      await s.close();
    }
  });

  it('refuses to bind a non-loopback address without a token, and binds it with one', async () => {
    const dataDir = await tempDir('micfs-data-');
    await expect(
      startDaemon({ dataDir, bind: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], log: silent, apiPort: 0, apiBind: '0.0.0.0' }),
    ).rejects.toThrow(/token/);
    const d = await startDaemon({
      dataDir,
      bind: '127.0.0.1',
      port: 0,
      allow: ['127.0.0.0/8'],
      log: silent,
      apiPort: 0,
      apiBind: '0.0.0.0',
      apiToken: 't0k',
    });
    try {
      const url = `http://127.0.0.1:${d.apiPort}`;
      expect((await http(url, 'GET', '/api/sessions')).status).toBe(401);
      expect((await http(url, 'GET', '/api/sessions', undefined, { authorization: 'Bearer t0k' })).status).toBe(200);
    } finally {
      await d.close();
    }
  });
});
