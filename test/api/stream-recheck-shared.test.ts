// Hundreds of event streams open with one user token (the API's /api/events and the web UI's page stream):
// their rechecks share one look-up of the token per interval (events/stream-watch.ts SharedLookups), so the
// token store is read a bounded number of times however many streams there are, counted by the daemon's
// own mic_token_lookups_total; and on revocation every one of them ends with a `revoked` event.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { openSse, type SseStream } from '../lib/sse.js';
import { until } from '../lib/until.js';

const EVERY_MS = 1000;
const API_STREAMS = 240;
const PAGE_STREAMS = 60;
let d: Daemon;
let url: string;
let admin: Record<string, string>;

async function call(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(url + path, {
    method,
    headers: { ...admin, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status, `${method} ${path}`).toBeLessThan(300);
  return res.json();
}

async function tokenLookups(): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: admin })).text();
  const m = /^mic_token_lookups_total (\d+)$/m.exec(text); // (prom-client may print an unset gauge as "Nan")
  expect(m, 'mic_token_lookups_total is exported').not.toBeNull();
  return Number(m![1]);
}

beforeAll(async () => {
  d = await startDaemon({
    env: { MIC_API_PORT: '0' },
    args: ['--api-stream-recheck', String(EVERY_MS), '--api-max-connections', '1000'],
  });
  const info = JSON.parse(readFileSync(join(d.dataDir, 'daemon.json'), 'utf8'));
  url = `http://127.0.0.1:${info.api_port}`;
  admin = { authorization: `Bearer ${readFileSync(info.api_token_file, 'utf8').trim()}` };
  await d.initProject('acme/app', { 'README.md': 'hi\n' });
}, 60_000);
afterAll(async () => {
  await d?.stop('SIGTERM', { cleanup: true });
});

describe('event streams holding one token', () => {
  it('share one token look-up per interval, and all end when it is revoked', async () => {
    await call('POST', '/api/users', { name: 'ann', roles: ['read@acme/app'] });
    const created = await call('POST', '/api/tokens', { user: 'ann' });
    const token: string = created.token;
    const id: string = created.record.id;
    const auth = { authorization: `Bearer ${token}` };
    const streams: SseStream[] = [];
    try {
      for (let i = 0; i < API_STREAMS; i++) streams.push(await openSse(`${url}/api/events`, auth));
      for (let i = 0; i < PAGE_STREAMS; i++) streams.push(await openSse(`${url}/ui/api/events?project=acme/app`, auth));
      expect(streams.every((s) => s.status === 200)).toBe(true);

      // idle: every stream's timer rechecks each second; the token store is read once per interval in all
      const before = await tokenLookups();
      const from = Date.now();
      await until(async () => (await tokenLookups()) >= before + 3, 30_000);
      const idle = (await tokenLookups()) - before;
      const intervals = Math.ceil((Date.now() - from) / EVERY_MS);
      expect(idle).toBeLessThanOrEqual(intervals + 2); // one look-up per stream would be hundreds per interval
      expect(streams.every((s) => !s.ended)).toBe(true);

      // revoked: every stream ends with `revoked`, still with one look-up per interval
      const atRevoke = await tokenLookups();
      const revokedAt = Date.now();
      await call('DELETE', `/api/tokens/${id}`);
      await until(() => streams.every((s) => s.ended), 30_000);
      const after = (await tokenLookups()) - atRevoke;
      expect(after).toBeLessThanOrEqual(Math.ceil((Date.now() - revokedAt) / EVERY_MS) + 2);
      for (const s of streams) expect(s.events.at(-1)).toMatchObject({ event: 'revoked', data: { error: 'unauthenticated' } });
    } finally {
      for (const s of streams) s.close();
    }
  }, 90_000);
});
