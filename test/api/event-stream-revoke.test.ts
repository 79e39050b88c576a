// An event stream outlives the request that opened it. When the caller's token is revoked or its role
// on the project is withdrawn while the stream is open, the stream must end (an `event: revoked` frame,
// then the end of the response) and deliver nothing after: over real HTTP, for /api/events and the web
// UI's page stream, both right after the change (recheck before every event) and on an idle stream
// (the periodic recheck).
import { openSse, type SseStream } from '../lib/sse.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http as call, makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';
import { until } from '../lib/until.js';

const ADMIN = 'daemon-admin-token-revoke-0123456';
const auth = (token = ADMIN) => ({ authorization: `Bearer ${token}` });
let t: TestDaemon; // rechecks before every event
let idle: TestDaemon; // the default: an answer is trusted for 2 s, the idle timer asks every 2 s

const open = (base: string, path: string, headers: Record<string, string>): Promise<SseStream> => openSse(base + path, headers);

async function userToken(d: TestDaemon, user: string): Promise<{ token: string; id: string }> {
  const r = await call(d.url, 'POST', '/api/tokens', { user }, auth());
  expect(r.status).toBe(201);
  return { token: r.body.token, id: r.body.id ?? r.body.token_id ?? r.body.record?.id };
}

const start = async (d: TestDaemon, goal: string) =>
  (await call(d.url, 'POST', '/api/sessions/start', { project: 'acme/app', goal }, auth())).body.session.session_id as string;

beforeAll(async () => {
  t = await testDaemon({ token: ADMIN, apiLimits: { streamRecheckMs: 0 } });
  idle = await testDaemon({ token: ADMIN });
  for (const d of [t, idle]) {
    await makeProject(d.dataDir, 'acme/app', { 'README.md': 'hello\n' });
    for (const name of ['ann', 'bob', 'cy', 'dee'])
      expect((await call(d.url, 'POST', '/api/users', { name, roles: ['read@acme/app'] }, auth())).status).toBe(201);
  }
});
afterAll(async () => {
  await t?.close();
  await idle?.close();
});

describe.sequential('event streams end when the credential goes', () => {
  it('a revoked token: the next event ends /api/events instead of being delivered', async () => {
    const { token, id } = await userToken(t, 'ann');
    expect(id).toMatch(/\S/);
    const s = await open(t.url, '/api/events?types=session.created', auth(token));
    expect(s.status).toBe(200);
    const first = await start(t, 'before revoke');
    await until(() => s.events.some((f) => f.event === 'session.created'));
    expect((await call(t.url, 'DELETE', `/api/tokens/${id}`, undefined, auth())).status).toBe(200);
    const second = await start(t, 'after revoke');
    await until(() => s.ended);
    expect(s.events.map((f) => f.event)).toEqual(['session.created', 'revoked']);
    expect(s.events[0]!.data.session_id).toBe(first);
    expect(JSON.stringify(s.events)).not.toContain(second);
    expect(s.events[1]!.data.error).toBe('unauthenticated');
    // and the token opens no new stream
    const again = await open(t.url, '/api/events', auth(token));
    expect(again.status).toBe(401);
    again.close();
  });

  it('a withdrawn role: a project stream ends, nothing of the project is delivered after', async () => {
    const { token } = await userToken(t, 'bob');
    const s = await open(t.url, '/api/events?project=acme/app&types=session.created', auth(token));
    expect(s.status).toBe(200);
    await start(t, 'seen');
    await until(() => s.events.length === 1);
    expect((await call(t.url, 'PATCH', '/api/users/bob', { remove_roles: ['read@acme/app'] }, auth())).status).toBe(200);
    const hidden = await start(t, 'not for bob');
    await until(() => s.ended);
    expect(s.events.map((f) => f.event)).toEqual(['session.created', 'revoked']);
    expect(JSON.stringify(s.events)).not.toContain(hidden);
  });

  it("the web UI's page stream ends on revocation too", async () => {
    const { token, id } = await userToken(t, 'cy');
    const s = await open(t.url, '/ui/api/events?project=acme/app', auth(token));
    expect(s.status).toBe(200);
    await start(t, 'page sees it');
    await until(() => s.events.some((f) => f.event === 'change'));
    expect((await call(t.url, 'DELETE', `/api/tokens/${id}`, undefined, auth())).status).toBe(200);
    await start(t, 'page must not see it');
    await until(() => s.ended);
    expect(s.events.map((f) => f.event)).toEqual(['change', 'revoked']);
  });

  it('an idle stream ends on its own after a revocation (default recheck period)', async () => {
    const { token, id } = await userToken(idle, 'dee');
    const s = await open(idle.url, '/api/events', auth(token));
    expect(s.status).toBe(200);
    expect((await call(idle.url, 'DELETE', `/api/tokens/${id}`, undefined, auth())).status).toBe(200);
    await until(() => s.ended); // no event is sent: the periodic check ends it
    expect(s.events.map((f) => f.event)).toEqual(['revoked']);
  });
});
