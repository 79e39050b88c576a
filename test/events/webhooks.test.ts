// Webhooks against a real HTTP receiver on 127.0.0.1: a receiver that fails twice gets the delivery
// on the third try with a valid signature; a pending delivery survives a restart of the deliverer.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/store/local-backend.js';
import { EventBus } from '../../src/events/event-bus.js';
import { Webhooks, signBody } from '../../src/events/webhooks.js';
import { tempDir } from '../store/helpers.js';
import { until } from '../lib/until.js';

interface Got {
  body: string;
  headers: http.IncomingHttpHeaders;
  status: number;
}

async function receiver(statuses: number[]): Promise<{ url: string; got: Got[]; close(): Promise<void> }> {
  const got: Got[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = statuses[got.length] ?? 200;
      got.push({ body: Buffer.concat(chunks).toString(), headers: req.headers, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readdirKeys(dir: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of new LocalBackend(dir).list(prefix)) out.push(o.key);
  return out;
}

const closers: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
});

describe('webhooks', () => {
  it('retries with backoff until the receiver accepts, signed with HMAC-SHA256', async () => {
    const rx = await receiver([500, 503, 200]);
    closers.push(rx.close);
    const backend = new LocalBackend(await tempDir());
    const bus = new EventBus();
    const hooks = new Webhooks(backend, { baseDelayMs: 30 });
    closers.push(() => hooks.close());
    await hooks.start(bus);
    const hook = await hooks.create({ project: 'acme/app', url: rx.url, types: ['session.landed'], actor: 'admin' });
    bus.publish('session.created', { project: 'acme/app', session: 's1' }); // not subscribed
    bus.publish('session.landed', { project: 'other/x', session: 's2' }); // another project
    const e = bus.publish('session.landed', { project: 'acme/app', session: 's1', data: { head: 'abc' } });
    await until(() => rx.got.length === 3);
    for (const g of rx.got) {
      expect(g.headers['x-mic-signature-256']).toBe(signBody(hook.secret, g.body));
      expect(g.headers['x-mic-event']).toBe('session.landed');
    }
    expect(new Set(rx.got.map((g) => g.headers['x-mic-delivery'])).size).toBe(1);
    expect(JSON.parse(rx.got[2]!.body).event).toMatchObject({ id: e.id, type: 'session.landed', session_id: 's1' });
    await sleep(150); // nothing more arrives
    expect(rx.got).toHaveLength(3);
    const log = await hooks.deliveries(hook.id);
    expect(log.map((l) => [l.attempt, l.status, l.ok])).toEqual([
      [1, 500, false],
      [2, 503, false],
      [3, 200, true],
    ]);
  });

  it('resumes a pending delivery after the deliverer restarts', async () => {
    const dir = await tempDir();
    const down = await receiver([500, 500, 500, 500, 500, 500, 500, 500]);
    const bus = new EventBus();
    const first = new Webhooks(new LocalBackend(dir), { baseDelayMs: 60_000 });
    await first.start(bus);
    const hook = await first.create({ project: 'acme/app', url: down.url, types: ['session.*'], actor: 'admin' });
    bus.publish('session.created', { project: 'acme/app', session: 's9' });
    await until(() => down.got.length === 1);
    await first.close(); // the daemon stops with the delivery pending
    await down.close();
    const rx = await receiver([200]);
    closers.push(rx.close);
    const h = (await new LocalBackend(dir).get(`hooks/${hook.id}/hook.json`))!;
    await new LocalBackend(dir).put(`hooks/${hook.id}/hook.json`, Buffer.from(h.toString().replace(down.url, rx.url)));
    const second = new Webhooks(new LocalBackend(dir), { baseDelayMs: 30 });
    closers.push(() => second.close());
    await second.start(new EventBus());
    await until(() => rx.got.length === 1);
    expect(JSON.parse(rx.got[0]!.body).event.session_id).toBe('s9');
    await until(async () => (await second.deliveries(hook.id)).at(-1)?.ok === true);
    await until(async () => (await readdirKeys(dir, `hooks/${hook.id}/pending/`)).length === 0); // removed after the log entry
    expect((await second.deliveries(hook.id)).map((l) => [l.attempt, l.ok])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(await readdirKeys(dir, `hooks/${hook.id}/pending/`)).toEqual([]);
  });
});
