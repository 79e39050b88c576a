// Issue 8 item 11: the HTTP API checks the route, the caller and the session before it reads a body, answers
// a declared huge Content-Length with 413 at once, limits bodies per route, times out slow and idle
// connections and caps how many are open. Raw sockets against a real daemon (in-process) on 127.0.0.1.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { makeProject, silent, tempDir } from '../session/helpers.js';
import { MicClient } from '../../src/api/client.js';

const TOKEN = 'limits-test-token-0123456789';
let d: Daemon;
let api: MicClient;
let id: string;

beforeAll(async () => {
  const dataDir = await tempDir('micfs-limits-');
  await makeProject(dataDir, 'acme/limits', { 'a.txt': 'a\n' });
  d = await startDaemon({
    dataDir,
    bind: '127.0.0.1',
    port: 0,
    allow: ['127.0.0.0/8'],
    log: silent,
    apiPort: 0,
    apiToken: TOKEN,
    apiLimits: { headersTimeoutMs: 1500, idleTimeoutMs: 2000, maxConnections: 6 },
  });
  api = new MicClient({ baseUrl: `http://127.0.0.1:${d.apiPort}`, token: TOKEN });
  id = (await api.start({ goal: 'limits', project: 'acme/limits' })).session.session_id;
});

afterAll(async () => {
  await d?.close();
});

interface Reply {
  status: number | null;
  head: string;
  body: string;
  closed: boolean;
  writeError: string | null;
}

/**
 * Sends head (and then body chunks, if any, as fast as the socket takes them) and resolves once the
 * server has answered and closed, or answered and kept the connection (after `settleMs` of quiet).
 */
function raw(head: string, o: { body?: () => Buffer | null; keepOpenMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const s = net.connect(d.apiPort!, '127.0.0.1');
    let got = '';
    let writeError: string | null = null;
    let done = false;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(quiet);
      s.destroy();
      const [h, ...rest] = got.split('\r\n\r\n');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(h ?? '');
      resolve({ status: m ? Number(m[1]) : null, head: h ?? '', body: rest.join('\r\n\r\n'), closed, writeError });
    };
    s.on('data', (b) => {
      got += b.toString('latin1');
      // a complete JSON answer on a connection the server keeps: done once nothing more comes
      if (o.keepOpenMs !== undefined && /\r\n\r\n[\s\S]*\n$/.test(got)) {
        clearTimeout(quiet);
        quiet = setTimeout(() => finish(false), o.keepOpenMs);
      }
    });
    s.on('error', (e) => {
      writeError ??= (e as NodeJS.ErrnoException).code ?? e.message;
    });
    s.on('close', () => finish(true));
    s.write(head);
    if (o.body) {
      const pump = () => {
        for (;;) {
          if (s.destroyed || done) return;
          const c = o.body!();
          if (c === null) return;
          if (!s.write(c)) return void s.once('drain', pump);
        }
      };
      pump();
    }
  });
}

const auth = `Authorization: Bearer ${TOKEN}\r\n`;
const post = (path: string, extra: string) => `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}${extra}\r\n`;

describe('bodies are checked before they are read', () => {
  it('a declared 10 GiB body gets 413 at once, and the connection is closed', async () => {
    const r = await raw(post(`/api/sessions/${id}/files`, 'Content-Type: application/json\r\nContent-Length: 10737418240\r\n'));
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'too_large' });
    expect(r.head.toLowerCase()).toContain('connection: close');
    expect(r.closed).toBe(true);
  });

  it('with Expect: 100-continue a refused body is never asked for', async () => {
    const r = await raw(
      post(`/api/sessions/${id}/files`, 'Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 10737418240\r\n'),
    );
    expect(r.status).toBe(413);
    expect(r.head).not.toContain('100 Continue');
  });

  it('a body for a session that does not exist gets 404 before any byte of it is read', async () => {
    const r = await raw(post('/api/sessions/no-such-session/files', 'Content-Type: application/json\r\nContent-Length: 52428800\r\n'));
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'not_found' });
  });

  it('a body without the token gets 401, on an unknown route 404, both without reading it', async () => {
    const noAuth = await raw(
      `POST /api/sessions/${id}/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n`,
    );
    expect(noAuth.status).toBe(401);
    const noRoute = await raw(post('/api/nothing/here', 'Content-Type: application/json\r\nContent-Length: 104857600\r\n'));
    expect(noRoute.status).toBe(404);
  });

  it('ordinary routes take 1 MiB; the files routes more', async () => {
    const big = Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }] }));
    const r = await raw(post(`/api/sessions/${id}/conversation`, `Content-Type: application/json\r\nContent-Length: ${big.length}\r\n`));
    expect(r.status).toBe(413);
    // the same size of file content is fine on the files route
    const files = await api.files(id, { files: [{ path: 'big.txt', change_type: 'added', content: 'y'.repeat(2 * 1024 * 1024) }] });
    expect(files.applied).toBe(1);
  });

  it('a chunked body is cut off at the limit: 413, and the rest is never read', async () => {
    let sent = 0;
    const chunk = Buffer.from(`10000\r\n${'z'.repeat(0x10000)}\r\n`);
    const r = await raw(post(`/api/sessions/${id}/conversation`, 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n'), {
      body: () => (sent++ < 4096 ? chunk : null), // 256 MiB if the server kept reading
    });
    expect(r.status).toBe(413);
    expect(r.closed).toBe(true);
    expect(sent).toBeLessThan(4096);
    expect((await api.get(id)).session.status).toBe('active');
  });
});

describe('connections', () => {
  it('a client that never finishes its headers is cut off (headers timeout)', async () => {
    const r = await raw(`GET /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `);
    expect(r.closed).toBe(true);
    expect([408, null]).toContain(r.status);
  });

  it('an idle connection is closed', async () => {
    const r = await raw('');
    expect(r.closed).toBe(true);
    expect([408, null]).toContain(r.status);
  });

  it('connections beyond the cap are closed on accept; the API serves again once one goes', async () => {
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const s = net.connect(d.apiPort!, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        s.on('error', () => {});
        held.push(s);
      }
      // wait until the server has accepted all six: one request on the last answers
      const last = held[5]!;
      const answered = new Promise<string>((r) => last.once('data', (b) => r(b.toString('latin1'))));
      last.write(`GET /api/sessions/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}\r\n`);
      expect(await answered).toMatch(/^HTTP\/1\.1 200/);
      const over = await raw(`GET /api/sessions/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}\r\n`);
      expect(over.status).toBeNull();
      expect(over.closed).toBe(true);
    } finally {
      for (const s of held) s.destroy();
    }
    // the server sees the closes asynchronously: retry until a request gets through
    for (;;) {
      const again = await raw(`GET /api/sessions/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Connection: close\r\n\r\n`);
      if (again.status !== null) {
        expect(again.status).toBe(200);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
