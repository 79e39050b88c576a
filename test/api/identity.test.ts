// Users, tokens, rights, grants and the audit log over real HTTP against an in-process daemon: a
// read-only token cannot land, a project-scoped token cannot touch another project, a revoked token
// fails at once, every mutation (refused ones too) is in the audit log with its actor, and a tampered
// entry is found.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';

const ADMIN = 'daemon-admin-token-0123456789';
let t: TestDaemon;
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const call = (token: string, method: string, path: string, body?: unknown) => http(t.url, method, path, body, as(token));

async function tokenFor(user: string, extra: Record<string, unknown> = {}): Promise<{ token: string; id: string }> {
  const r = await call(ADMIN, 'POST', '/api/tokens', { user, ...extra });
  expect(r.status).toBe(201);
  return { token: r.body.token, id: r.body.record.id };
}

beforeAll(async () => {
  t = await testDaemon({ token: ADMIN });
  await makeProject(t.dataDir, 'acme/app', { 'README.md': 'hello\n' });
  await makeProject(t.dataDir, 'acme/web', { 'index.html': '<p>\n' });
  await makeProject(t.dataDir, 'other/x', { 'x.txt': 'x\n' });
  for (const [name, roles] of [
    ['reader', ['read@acme/app']],
    ['dev', ['land@acme']],
    ['bot', ['write@acme/app']],
  ] as const) {
    expect((await call(ADMIN, 'POST', '/api/users', { name, roles })).status).toBe(201);
  }
});
afterAll(async () => {
  await t?.close();
});

describe.sequential('identity and rights over HTTP', () => {
  let session = '';

  it('a read-only user reads but cannot start or land; the 403 names the missing right', async () => {
    const dev = await tokenFor('dev');
    // the session records who started it, whatever the body claims
    const s = await call(dev.token, 'POST', '/api/sessions/start', { project: 'acme/app', goal: 'work', user: 'mallory' });
    expect(s.status).toBe(201);
    expect(s.body.session).toMatchObject({ user_id: 'dev', account_id: 'acme' });
    session = s.body.session.session_id;
    const reader = await tokenFor('reader');
    expect((await call(reader.token, 'GET', `/api/sessions/${session}`)).status).toBe(200);
    const start = await call(reader.token, 'POST', '/api/sessions/start', { project: 'acme/app', goal: 'nope' });
    expect(start).toMatchObject({
      status: 403,
      body: { error: 'forbidden', message: 'reader lacks the "write" right on project acme/app' },
    });
    const land = await call(reader.token, 'POST', `/api/sessions/${session}/land`, {});
    expect(land.status).toBe(403);
    expect(land.body.message).toBe(`reader lacks the "land" right on session ${session} of acme/app`);
    expect((await call(reader.token, 'GET', '/api/projects/other/x/head')).status).toBe(403);
    // the list shows only what the caller may read
    const list = await call(reader.token, 'GET', '/api/sessions');
    expect(list.status).toBe(200);
    expect(list.body.sessions.every((x: { project: string }) => x.project === 'acme/app')).toBe(true);
  });

  it('a token scoped to one project, or capped at a right, cannot do more than it says', async () => {
    const scoped = await tokenFor('dev', { project: 'acme/app' });
    expect((await call(scoped.token, 'POST', '/api/sessions/start', { project: 'acme/app', goal: 'ok' })).status).toBe(201);
    const web = await call(scoped.token, 'POST', '/api/sessions/start', { project: 'acme/web', goal: 'no' });
    expect(web.status).toBe(403);
    expect((await call(scoped.token, 'POST', '/api/sessions/start', { project: 'other/x', goal: 'no' })).status).toBe(403);
    const capped = await tokenFor('dev', { right: 'read' });
    expect((await call(capped.token, 'POST', `/api/sessions/${session}/land`, {})).body.message).toMatch(/lacks the "land" right/);
    // a user cannot mint a token for somebody else, nor manage users
    expect((await call(scoped.token, 'POST', '/api/tokens', { user: 'bot' })).status).toBe(403);
    expect((await call(scoped.token, 'POST', '/api/users', { name: 'eve', roles: ['admin'] })).status).toBe(403);
  });

  it('a grant on one session lets a writer land that session only', async () => {
    const bot = await tokenFor('bot');
    const files = await call(bot.token, 'POST', `/api/sessions/${session}/files`, {
      files: [{ path: 'bot.txt', change_type: 'added', content: 'from bot\n' }],
    });
    expect(files.status).toBe(200);
    expect((await call(bot.token, 'POST', `/api/sessions/${session}/land`, {})).status).toBe(403);
    expect((await call(ADMIN, 'POST', '/api/grants', { target: `session:${session}`, user: 'bot', right: 'land' })).status).toBe(201);
    const land = await call(bot.token, 'POST', `/api/sessions/${session}/land`, { message: 'bot lands' });
    expect(land.status).toBe(200);
    expect(land.body.session.status).toBe('landed');
  });

  it('a revoked token fails at once', async () => {
    const dev = await tokenFor('dev');
    expect((await call(dev.token, 'GET', '/api/whoami')).body.user).toBe('dev');
    expect((await call(dev.token, 'DELETE', `/api/tokens/${dev.id}`)).status).toBe(200);
    const after = await call(dev.token, 'GET', '/api/whoami');
    expect(after).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect((await call('mic_not-a-real-token-at-all-000000000000000000', 'GET', '/api/sessions')).status).toBe(401);
  });

  it('every mutation is in the audit log with its actor and result, and a tampered entry is found', async () => {
    const entries = (await call(ADMIN, 'GET', `/api/audit?target=session:${session}&limit=100`)).body.entries as {
      actor: string;
      action: string;
      result: string;
    }[];
    const seen = entries.map((e) => `${e.actor} ${e.action} ${e.result}`).reverse();
    expect(seen).toEqual([
      'dev session.start ok',
      'reader session.land error: forbidden',
      'dev session.land error: forbidden', // the token capped at read
      'bot session.files ok',
      'bot session.land error: forbidden',
      'admin grant.add ok',
      'bot session.land ok',
    ]);
    const admin = (await call(ADMIN, 'GET', '/api/audit?action=grant.*')).body.entries;
    expect(admin[0]).toMatchObject({
      actor: 'admin',
      action: 'grant.add',
      target: `session:${session}`,
      detail: { user: 'bot', right: 'land' },
    });
    expect((await call(ADMIN, 'GET', '/api/audit?action=token.revoke')).body.entries[0]).toMatchObject({ actor: 'dev' });
    const reader = await tokenFor('reader');
    expect((await call(reader.token, 'GET', '/api/audit')).status).toBe(403);

    expect((await call(ADMIN, 'GET', '/api/audit/verify')).body).toMatchObject({ ok: true, problems: [] });
    const dir = join(t.dataDir, 'objects', 'audit', 'entries');
    const files = (await readdir(dir)).sort();
    const victim = join(dir, files[3]!);
    const text = await readFile(victim, 'utf8');
    await writeFile(victim, text.replace(/"result":"[^"]*"/, '"result":"ok"').replace(/"actor":"[^"]*"/, '"actor":"someone-else"'));
    const v = (await call(ADMIN, 'GET', '/api/audit/verify')).body;
    expect(v.ok).toBe(false);
    expect(v.problems[0].problem).toMatch(/^entry 4 was changed/);
    await writeFile(victim, text);
  });
});
