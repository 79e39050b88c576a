// A client that vanishes without unmounting (its TCP connections dropped without UMNT, or closed by the
// daemon's --idle-timeout) has its mounts end with an `unmounted` event, reason `gone`, once it has had no
// connection for --mount-gone: on /api/events, in the timeline, and in MOUNT DUMP. A client whose address
// still has a connection is not gone; UMNT and UMNTALL say so in `reason` too. Over the real daemon (dist/),
// with raw NFS/MOUNT clients on the wire; the session page (headless chromium) shows the gone ones as such.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { apiCaller } from '../lib/api-call.js';
import { openSse, type SseStream } from '../lib/sse.js';
import { Nfs3Client } from '../lib/nfs3-client.js';
import { until } from '../lib/until.js';
import { launchBrowser, watchedPage } from '../lib/browser.js';

const GONE_S = 0.3;
let d: Daemon;
let url: string;
let token: string;
let admin: () => Record<string, string>;
let call: (method: string, path: string, body?: unknown) => Promise<any>;

beforeAll(async () => {
  // idle connections are closed after 1 s, and a client with none for 0.3 s is gone
  d = await startDaemon({ env: { MIC_API_PORT: '0', MIC_MOUNT_GONE: String(GONE_S), MIC_IDLE_TIMEOUT: '1' } });
  ({ url, token, admin, call } = apiCaller(d.dataDir));
  await d.initProject('acme/gone', { 'README.md': 'hi\n' });
}, 60_000);
afterAll(async () => {
  await d?.stop('SIGTERM', { cleanup: true });
});

const unmounts = (bus: SseStream) =>
  bus.events.filter((e) => e.event === 'session.unmounted').map((e) => [e.data.data.path, e.data.data.reason] as [string, string]);

describe('a client that vanished', () => {
  it('has its mounts end (reason gone) once it has had no connection for --mount-gone, not before', async () => {
    const s = (await call('POST', '/api/sessions/start', { project: 'acme/gone', goal: 'vanish' })).session;
    const id: string = s.session_id;
    const bus = await openSse(`${url}/api/events?session=${id}&types=session.mounted,session.unmounted`, admin());
    const timeline = async () =>
      ((await call('GET', `/api/sessions/${id}/timeline`)).timeline as { type: string; reason?: string }[]).filter(
        (e) => e.type === 'unmounted',
      );
    try {
      const a = await Nfs3Client.connect(d.port);
      expect((await a.mnt(s.export)).status).toBe(0);
      await until(() => bus.events.length === 1);

      // another connection from the same address keeps the client there: A's socket dropped without UMNT
      const b = await Nfs3Client.connect(d.port);
      await a.close();
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, (GONE_S * 1000) / 2));
        await b.null(); // not idle
      }
      expect((await b.dump()).map((m) => m.path)).toContain(s.export);
      expect(unmounts(bus)).toEqual([]);

      // its last connection drops: gone
      await b.close();
      await until(() => unmounts(bus).length === 1);
      expect(unmounts(bus)).toEqual([[s.export, 'gone']]);
      expect(await timeline()).toEqual([expect.objectContaining({ type: 'unmounted', client: '127.0.0.1', reason: 'gone' })]);

      // it is no longer listed; the session still serves whoever mounts it, and UMNT says umnt
      const c = await Nfs3Client.connect(d.port);
      expect((await c.dump()).map((m) => m.path)).not.toContain(s.export);
      await c.mountRoot(s.export);
      await c.umnt(s.export);
      await until(() => unmounts(bus).length === 2);
      expect(unmounts(bus)[1]).toEqual([s.export, 'umnt']);

      // a client left idle: the daemon closes its connection (--idle-timeout), then it is gone
      await c.mountRoot(s.export);
      await until(() => unmounts(bus).length === 3);
      expect(unmounts(bus)[2]).toEqual([s.export, 'gone']);
      expect(d.logLines((l) => l.msg === 'rpc: idle connection closed').length).toBeGreaterThan(0);
      await c.close();
      expect((await timeline()).map((e) => e.reason)).toEqual(['gone', 'umnt', 'gone']);

      // the session page says which unmounts were a client gone
      const browser = await launchBrowser();
      try {
        const ctx = await browser.newContext();
        await ctx.addCookies([{ name: 'mic_token', value: encodeURIComponent(token), url }]);
        const { page, errors } = await watchedPage(ctx);
        await page.goto(`${url}/sessions/${id}`);
        await page.waitForSelector('ol.events li[data-type=unmounted]');
        const shown = await page.locator('ol.events li[data-type=unmounted]').allTextContents();
        expect(shown.filter((t) => t.includes('(gone: no connection)'))).toHaveLength(2);
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }

      // a client that closes its connection right after sending MNT: the daemon still reads and answers it
      // (the reply goes nowhere), listing the mount after the connection closed; that mount ends as gone too
      const count = (type: string) => bus.events.filter((x) => x.event === type).length;
      const mountsBefore = count('session.mounted');
      const e = await Nfs3Client.connect(d.port);
      const sent = e.mnt(s.export).catch(() => null);
      await e.close();
      await sent;
      await until(() => count('session.mounted') === mountsBefore + 1);
      await until(() => count('session.unmounted') === mountsBefore + 1);
      expect(unmounts(bus).at(-1)).toEqual([s.export, 'gone']);
    } finally {
      bus.close();
    }
  }, 60_000);
});
