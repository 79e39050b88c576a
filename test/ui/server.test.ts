// The UI's server side over real HTTP: login cookie and bearer token, cross-origin refusal, security
// headers, bundled assets, the session list's filters, raw download, server-sent events from NFS writes
// and state changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';
import { Nfs3Client, NfsStatus } from '../lib/nfs3-client.js';
import { SEED_000_PROJECT, SEED_000_REQUEST, XSS_NAME, XSS_REQUEST } from '../lib/ui-fixtures.js';
import { parseSse, type SseEvent } from '../lib/sse.js';

const TOKEN = 'ui-test-token-0123456789';
let t: TestDaemon;

/** Raw request (fetch hides Set-Cookie handling and forbids Origin/Host). */
function req(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(t.url);
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        headers: { ...(body ? { 'content-length': Buffer.byteLength(body) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}

beforeAll(async () => {
  t = await testDaemon({ token: TOKEN });
  await makeProject(t.dataDir, 'myorg/myapp', SEED_000_PROJECT);
  await t.api.create(SEED_000_REQUEST);
  await t.api.create(XSS_REQUEST);
});

afterAll(async () => {
  await t?.close();
});

describe('login and same-origin', () => {
  it('sends a browser without the token to the login form, and signs it in with an HttpOnly SameSite=Strict cookie', async () => {
    const page = await req('GET', '/sessions/unique-id');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/login?next=%2Fsessions%2Funique-id');
    const form = await req('GET', '/login?next=%2Fsessions%2Funique-id');
    expect(form.status).toBe(200);
    expect(form.body).toContain('name="token"');
    expect(form.headers['content-security-policy']).toContain("script-src 'self'");

    const origin = { host: new URL(t.url).host, origin: t.url, 'content-type': 'application/x-www-form-urlencoded' };
    const wrong = await req('POST', '/login', origin, 'token=nope&next=%2F');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();

    const ok = await req('POST', '/login', origin, `token=${TOKEN}&next=${encodeURIComponent('/sessions/unique-id')}`);
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe('/sessions/unique-id');
    const cookie = ok.headers['set-cookie']![0];
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const jar = cookie.split(';')[0];

    // the cookie opens the pages, /ui/api and the API
    expect((await req('GET', '/sessions/unique-id', { cookie: jar })).status).toBe(200);
    expect((await req('GET', '/ui/api/sessions', { cookie: jar })).status).toBe(200);
    expect((await req('GET', '/api/sessions/unique-id', { cookie: jar })).status).toBe(200);
    expect((await req('GET', '/api/sessions/unique-id', { cookie: jar.slice(0, -1) + 'x' })).status).toBe(401);
    expect((await req('GET', '/ui/api/sessions')).status).toBe(401);

    // an open redirect is refused
    const off = await req('POST', '/login', origin, `token=${TOKEN}&next=${encodeURIComponent('//evil.example/')}`);
    expect(off.headers.location).toBe('/');

    // mutating requests from another site are refused, cookie or token; same-origin and the CLI pass
    const s = (await t.api.start({ project: 'myorg/myapp', goal: 'csrf target' })).session;
    const post = (headers: Record<string, string>) =>
      req(
        'POST',
        `/api/sessions/${s.session_id}/decisions`,
        { 'content-type': 'application/json', ...headers },
        JSON.stringify({ decision: 'x' }),
      );
    expect((await post({ cookie: jar, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ cookie: jar, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post({ authorization: `Bearer ${TOKEN}`, origin: 'null' })).status).toBe(403);
    expect((await req('POST', '/login', { ...origin, origin: 'http://evil.example' }, `token=${TOKEN}`)).status).toBe(403);
    expect((await t.api.get(s.session_id)).session.decisions).toEqual([]);
    expect((await post({ cookie: jar, origin: t.url, host: new URL(t.url).host, 'sec-fetch-site': 'same-origin' })).status).toBe(201);
    expect((await post({ authorization: `Bearer ${TOKEN}` })).status).toBe(201);
    expect((await t.api.get(s.session_id)).session.decisions).toHaveLength(2);
  });

  it('serves the bundle (gzip, cacheable) and pages with a strict CSP', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const page = await req('GET', '/', auth);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    const src = /src="(\/assets\/app\.js\?v=[0-9a-f]+)"/.exec(page.body)![1];
    const js = await req('GET', src, { 'accept-encoding': 'gzip' });
    expect(js.status).toBe(200);
    expect(js.headers['content-encoding']).toBe('gzip');
    expect(js.headers['cache-control']).toContain('immutable');
    expect((await req('GET', src, { 'if-none-match': js.headers.etag! })).status).toBe(304);
    // the chunks app.js imports statically are asked for with the page, not after app.js is parsed
    const plain = (await req('GET', src)).body;
    const statics = [...plain.matchAll(/from"\.\/([\w-]+\.js)"/g)].map((m) => m[1]);
    expect(statics.length).toBeGreaterThan(0);
    for (const name of statics) {
      expect(page.body).toContain(`<link rel="modulepreload" href="/assets/${name}">`);
      const chunk = await req('GET', `/assets/${name}`);
      expect(chunk.status).toBe(200);
      expect(chunk.headers['cache-control']).toContain('immutable');
    }
    expect((await req('GET', '/assets/nope.js')).status).toBe(404);
    expect((await req('GET', '/no/such/page', auth)).status).toBe(404);
  });
});

describe('data for the pages', () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const json = async (path: string) => {
    const r = await req('GET', path, auth);
    return { status: r.status, body: JSON.parse(r.body) };
  };

  it("answers the session page in one request; an ended session's answer revalidates to 304", async () => {
    const r = await req('GET', '/ui/api/sessions/unique-id', auth);
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-cache');
    const body = JSON.parse(r.body);
    expect(body.session).toMatchObject({ session_id: 'unique-id', status: 'landed', goal: 'Add authentication system' });
    expect(body.session.conversation).toHaveLength(2);
    expect(body.summary).toEqual({ total: 3, added: 1, modified: 1, deleted: 1 });
    // only what the page shows of each change: no content, no storage keys
    const keys = ['binary', 'change_type', 'hash', 'kind', 'lines_added', 'lines_removed', 'mode', 'path', 'previous_hash', 'size'];
    for (const c of body.changes) expect(Object.keys(c).sort()).toEqual(keys);
    expect(body.changes.map((c: { change_type: string }) => c.change_type).sort()).toEqual(['added', 'deleted', 'modified']);
    const again = await req('GET', '/ui/api/sessions/unique-id', { ...auth, 'if-none-match': r.headers.etag! });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    expect((await req('GET', '/ui/api/sessions/unique-id', { ...auth, 'if-none-match': '"other"' })).status).toBe(200);
    // a live session's answer follows its mount: never kept
    const s = (await t.api.start({ project: 'myorg/myapp', goal: 'live answer' })).session;
    const first = await req('GET', `/ui/api/sessions/${s.session_id}`, auth);
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.headers.etag).toBeUndefined();
    expect(JSON.parse(first.body).changes).toEqual([]);
    await t.api.files(s.session_id, { files: [{ path: 'later.txt', change_type: 'added', content: 'one\ntwo\n' }] });
    const second = JSON.parse((await req('GET', `/ui/api/sessions/${s.session_id}`, auth)).body);
    expect(second.changes).toMatchObject([{ path: 'later.txt', change_type: 'added', lines_added: 2, lines_removed: 0 }]);
    expect(second.session.changes).toEqual({ total: 1, added: 1, modified: 0, deleted: 0 });
    expect((await req('GET', '/ui/api/sessions/no-such-session', auth)).status).toBe(404);
    // a change's content, by hash: kept by the browser for good
    const added = body.changes.find((c: { change_type: string }) => c.change_type === 'added');
    const blob = await req('GET', `/ui/api/projects/myorg/myapp/blobs/${added.hash}`, auth);
    expect(blob.status).toBe(200);
    expect(blob.body).toBe('defmodule Auth.JWT do...');
    expect(blob.headers['cache-control']).toBe('private, max-age=31536000, immutable');
    expect(blob.headers.etag).toBe(`"${added.hash}"`);
    expect(
      (await req('GET', `/ui/api/projects/myorg/myapp/blobs/${added.hash}`, { ...auth, 'if-none-match': `"${added.hash}"` })).status,
    ).toBe(304);
    expect((await req('GET', `/ui/api/projects/myorg/myapp/blobs/${'0'.repeat(64)}`, auth)).status).toBe(404);
    expect((await req('GET', '/ui/api/projects/myorg/myapp/blobs/not-a-hash', auth)).status).toBe(400);
    expect((await req('GET', `/ui/api/projects/myorg/myapp/blobs/${added.hash}`)).status).toBe(401);
    expect((await req('GET', '/ui/api/sessions/unique-id')).status).toBe(401);
  });

  it('filters and pages the sessions, newest first, with a cursor', async () => {
    const all = (await json('/ui/api/sessions')).body;
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const rows = all.sessions as { session_id: string; started_at: string }[];
    expect(rows.map((s) => s.session_id)).toEqual(
      [...rows].sort((a, b) => cmp(b.started_at, a.started_at) || cmp(a.session_id, b.session_id)).map((s) => s.session_id),
    );
    expect(rows.map((s) => s.session_id)).toEqual(expect.arrayContaining(['unique-id', 'xss-1']));
    expect(all.projects).toEqual(['myorg/myapp']);
    expect(all.tags).toEqual(['security']);
    expect(all.counts).toEqual({ active: expect.any(Number), suspended: expect.any(Number) });
    expect((await json('/ui/api/sessions?q=AUTHENTICATION')).body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([
      'unique-id',
    ]);
    expect((await json('/ui/api/sessions?tag=security')).body.sessions).toHaveLength(1);
    expect((await json('/ui/api/sessions?status=landed')).body.sessions.map((s: { session_id: string }) => s.session_id).sort()).toEqual([
      'unique-id',
      'xss-1',
    ]);
    const p1 = (await json('/ui/api/sessions?limit=1')).body;
    expect(p1.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([rows[0]!.session_id]);
    const p2 = (await json(`/ui/api/sessions?limit=1&cursor=${p1.next_cursor}`)).body;
    expect(p2.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([rows[1]!.session_id]);
    expect((await json('/ui/api/sessions?cursor=nope')).status).toBe(400);
  });

  it('downloads a file raw, as an attachment that cannot run in the page', async () => {
    const r = await req('GET', `/ui/raw/myorg/myapp/HEAD?path=${encodeURIComponent(XSS_NAME)}`, auth);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.headers['content-disposition']).toMatch(/^attachment; filename="_img_src_x_onerror_alert_1__.md"/);
    expect(r.headers['content-security-policy']).toContain('sandbox');
    expect(r.body).toBe(XSS_REQUEST.files[0].content);
    expect((await req('GET', '/ui/raw/myorg/myapp/HEAD?path=..%2Fetc', auth)).status).toBe(400);
    // a large (chunked) file comes in pieces, whole
    const big = randomBytes(9 * 1024 * 1024 + 123);
    await t.api.create({
      project: 'myorg/myapp',
      goal: 'a large file',
      files: [{ path: 'big.bin', change_type: 'added', content: big.toString('base64'), encoding: 'base64' }],
    });
    const got = await fetch(`${t.url}/ui/raw/myorg/myapp/HEAD?path=big.bin`, { headers: auth });
    expect(got.headers.get('content-length')).toBe(String(big.length));
    expect(Buffer.from(await got.arrayBuffer()).equals(big)).toBe(true);
    expect((await req('GET', '/ui/raw/myorg/myapp/HEAD?path=src', auth)).status).toBe(400);
  });

  it('blames lines to the head, session and decision that wrote them', async () => {
    const s = (
      await t.api.start({ project: 'myorg/myapp', goal: 'two more lines', decisions: [{ decision: 'append', reasoning: 'tests' }] })
    ).session;
    await t.api.files(s.session_id, {
      files: [{ path: 'src/main.ex', change_type: 'modified', content: '<script>window.__xss=11</script>\nline two\nline three\n' }],
    });
    await t.api.land(s.session_id, {});
    const b = (await json('/ui/api/projects/myorg/myapp/blame/HEAD?path=src/main.ex')).body;
    expect(b.ranges).toEqual([
      { start: 1, end: 1, origin: 0 },
      { start: 2, end: 3, origin: 1 },
    ]);
    expect(b.origins[0]).toMatchObject({ session: 'xss-1', decision: { index: 0 } });
    expect(b.origins[1]).toMatchObject({ session: s.session_id, goal: 'two more lines', decision: { index: 0, decision: 'append' } });
  });
});

describe('server-sent events', () => {
  it('reports NFS writes and state changes of the session watched, coalesced', async () => {
    const s = (await t.api.start({ project: 'myorg/myapp', goal: 'watched' })).session;
    const other = (await t.api.start({ project: 'myorg/myapp', goal: 'not watched' })).session;
    const ac = new AbortController();
    const res = await fetch(`${t.url}/ui/api/events?session=${s.session_id}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: ac.signal,
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let buf = '';
    const queue: SseEvent[] = [];
    const nextEvent = async (): Promise<{ types: string[]; last: { session: string } }> => {
      for (;;) {
        const e = queue.shift();
        if (e) {
          if (e.event === 'change') return e.data;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        const got = parseSse(buf + Buffer.from(value).toString('utf8'));
        buf = got.rest;
        queue.push(...got.events);
      }
    };
    await t.api.decisions(other.session_id, { decision: 'elsewhere' }); // filtered out
    const nfs = await Nfs3Client.connect(t.d.port);
    try {
      const m = await nfs.mnt(s.export!);
      const c = await nfs.create(m.fh!, 'a.txt');
      expect(c.status).toBe(NfsStatus.OK);
      for (let i = 0; i < 20; i++) await nfs.write(c.fh!, i * 10, Buffer.alloc(10, 97));
    } finally {
      await nfs.close();
    }
    const seen = [await nextEvent()];
    while (!seen.some((e) => e.types.includes('files'))) seen.push(await nextEvent());
    await t.api.suspend(s.session_id);
    // twenty WRITEs: fewer events (coalesced), then the status change; nothing of the other session. The
    // report of the last WRITEs (WATCH_MS after them) may share the status change's event and be its `last`.
    for (;;) {
      const e = await nextEvent();
      seen.push(e);
      if (e.types.includes('session')) {
        const last = e.last as unknown as { type: string; status?: string };
        expect(last.type === 'files' || last.status === 'suspended', JSON.stringify(e)).toBe(true);
        break;
      }
    }
    expect(seen.length).toBeLessThan(20);
    expect(seen.every((e) => e.last.session === s.session_id)).toBe(true);
    // the MNT is a change too (a `mounted` timeline event), recorded before the suspension (one queue)
    expect(seen.some((e) => e.types.includes('mount'))).toBe(true);
    ac.abort();
  });
});
