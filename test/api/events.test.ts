// /api/events over real HTTP: a client sees session.created, session.changed and session.landed in
// order, only for the projects it may read, and a client that reconnects with Last-Event-ID gets what
// it missed. A webhook registered through the API receives the landing, signed.
import http from 'node:http';
import { openSse, type SseEvent } from '../lib/sse.js';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../src/events/webhooks.js';
import { NfsStatus, Nfs3Client } from '../lib/nfs3-client.js';
import { http as call, makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';
import { until } from '../lib/until.js';

const ADMIN = 'daemon-admin-token-events-0123';
let t: TestDaemon;
const auth = (token = ADMIN) => ({ authorization: `Bearer ${token}` });

/** Opens an SSE stream (test/lib/sse.ts); its events (the `gap` notice left out) until close(). */
async function listen(path: string, headers: Record<string, string>): Promise<{ events: SseEvent[]; status: number; close(): void }> {
  const s = await openSse(t.url + path, headers);
  return {
    get events() {
      return s.events.filter((e) => e.event !== 'gap');
    },
    status: s.status,
    close: () => s.close(),
  };
}

beforeAll(async () => {
  t = await testDaemon({ token: ADMIN });
  await makeProject(t.dataDir, 'acme/app', { 'README.md': 'hello\n' });
  await makeProject(t.dataDir, 'other/x', { 'x.txt': 'x\n' });
  expect((await call(t.url, 'POST', '/api/users', { name: 'watcher', roles: ['read@acme/app'] }, auth())).status).toBe(201);
});
afterAll(async () => {
  await t?.close();
});

describe.sequential('events', () => {
  it('streams created, changed and landed in order, filtered to what the caller may read; resumes with Last-Event-ID', async () => {
    const tok = (await call(t.url, 'POST', '/api/tokens', { user: 'watcher' }, auth())).body.token as string;
    const mine = await listen('/api/events', auth(tok));
    expect(mine.status).toBe(200);
    const forbidden = await listen('/api/events?project=other/x', auth(tok));
    expect(forbidden.status).toBe(403);
    forbidden.close();

    await call(t.url, 'POST', '/api/sessions/start', { project: 'other/x', goal: 'hidden' }, auth());
    const s = (await call(t.url, 'POST', '/api/sessions/start', { project: 'acme/app', goal: 'seen' }, auth())).body.session.session_id;
    await call(t.url, 'POST', `/api/sessions/${s}/files`, { files: [{ path: 'a.txt', change_type: 'added', content: 'a\n' }] }, auth());
    await call(t.url, 'POST', `/api/sessions/${s}/land`, { message: 'land it' }, auth());
    await until(() => mine.events.some((e) => e.event === 'head.moved'));
    mine.close();
    const kinds = mine.events.map((e) => e.event);
    expect(kinds.filter((k) => ['session.created', 'session.changed', 'session.landed'].includes(k))).toEqual([
      'session.created',
      'session.changed',
      'session.landed',
    ]);
    expect(mine.events.every((e) => e.data.project === 'acme/app')).toBe(true);
    expect(mine.events.every((e) => e.data.session_id === s)).toBe(true);
    const ids = mine.events.map((e) => BigInt(e.id!));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));
    expect(mine.events.find((e) => e.event === 'session.landed')!.data).toMatchObject({
      actor: 'admin',
      data: { head: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });

    // reconnect after the first event: the rest comes again, nothing before it
    const again = await listen('/api/events?types=session.*', { ...auth(tok), 'last-event-id': mine.events[0]!.id! });
    await until(() => again.events.some((e) => e.event === 'session.landed'));
    again.close();
    expect(again.events[0]!.event).toBe('session.changed');
    expect(again.events.every((e) => e.event.startsWith('session.'))).toBe(true);
  });

  it('a write through an NFS mount is a session.changed event', async () => {
    const s = (await call(t.url, 'POST', '/api/sessions/start', { project: 'acme/app', goal: 'mounted' }, auth())).body.session;
    const stream = await listen(`/api/events?session=${s.session_id}`, auth());
    const client = await Nfs3Client.connect(t.d.port);
    try {
      const root = await client.mountRoot(s.export);
      const c = await client.create(root, 'from-mount.txt', { kind: 'unchecked', attrs: { mode: 0o644, size: 0 } });
      expect(c.status).toBe(NfsStatus.OK);
      expect((await client.write(c.fh!, 0, Buffer.from('written through NFS\n'))).status).toBe(NfsStatus.OK);
      await until(() => stream.events.some((e) => e.event === 'session.changed'));
      expect(stream.events.find((e) => e.event === 'session.changed')!.data).toMatchObject({
        session_id: s.session_id,
        project: 'acme/app',
        data: { source: 'mount' },
      });
    } finally {
      stream.close();
      await client.close();
    }
  });

  it('a webhook registered through the API receives the landing, signed', async () => {
    const got: { body: string; sig: string }[] = [];
    const rx = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        got.push({ body, sig: String(req.headers['x-mic-signature-256']) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    try {
      const hook = await call(
        t.url,
        'POST',
        '/api/hooks',
        {
          project: 'acme/app',
          url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/`,
          types: ['session.landed'],
          secret: 'a-secret-of-16-chars-or-more',
        },
        auth(),
      );
      expect(hook.status).toBe(201);
      expect((await call(t.url, 'POST', '/api/hooks', { project: 'acme/app', url: 'ftp://x/', types: [] }, auth())).status).toBe(400);
      const s = (await call(t.url, 'POST', '/api/sessions/start', { project: 'acme/app', goal: 'hooked' }, auth())).body.session.session_id;
      await call(t.url, 'POST', `/api/sessions/${s}/files`, { files: [{ path: 'b.txt', change_type: 'added', content: 'b\n' }] }, auth());
      await call(t.url, 'POST', `/api/sessions/${s}/land`, {}, auth());
      await until(() => got.length === 1);
      expect(got[0]!.sig).toBe(signBody('a-secret-of-16-chars-or-more', got[0]!.body));
      expect(JSON.parse(got[0]!.body).event).toMatchObject({ type: 'session.landed', session_id: s });
      let log: any[] = [];
      const deadline = Date.now() + 5000;
      while (!log.length && Date.now() < deadline) {
        log = (await call(t.url, 'GET', `/api/hooks/${hook.body.hook.id}/deliveries`, undefined, auth())).body.deliveries;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(log.at(-1)).toMatchObject({ ok: true, status: 204, attempt: 1 });
    } finally {
      await new Promise<void>((r) => rx.close(() => r()));
    }
  });
});
