// Mount and unmount of a session's export are session events as they happen, not only after a reload: over
// the real daemon, a client's MNT, a second MNT of the same export (no new event), UMNT, then MNT of a
// directory inside the export and UMNTALL each reach /api/events (session.mounted / session.unmounted), the
// web UI's page stream, the timeline (GET /api/sessions/:id/timeline), and an open session page in headless
// chromium, which shows them without reloading.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { apiCaller } from '../lib/api-call.js';
import { openSse } from '../lib/sse.js';
import { Nfs3Client, NfsStatus } from '../lib/nfs3-client.js';
import { launchBrowser, watchedPage } from '../lib/browser.js';
import { until } from '../lib/until.js';

let d: Daemon;
let url: string;
let token: string;
let admin: () => Record<string, string>;
let call: (method: string, path: string, body?: unknown) => Promise<any>;
let browser: Browser;

beforeAll(async () => {
  d = await startDaemon({ env: { MIC_API_PORT: '0' } });
  ({ url, token, admin, call } = apiCaller(d.dataDir));
  await d.initProject('acme/app', { 'README.md': 'hi\n', 'src/app.ts': 'export {};\n' });
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await d?.stop('SIGTERM', { cleanup: true });
});

describe('mount events', () => {
  it('MNT, UMNT and UMNTALL reach /api/events, the page stream, the timeline and an open page at once', async () => {
    const s = (await call('POST', '/api/sessions/start', { project: 'acme/app', goal: 'watch the mounts' })).session;
    const id: string = s.session_id;
    const bus = await openSse(`${url}/api/events?session=${id}&types=session.mounted,session.unmounted`, admin());
    const pageStream = await openSse(`${url}/ui/api/events?session=${id}`, admin());
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.addCookies([{ name: 'mic_token', value: encodeURIComponent(token), url }]);
    const { page, errors } = await watchedPage(ctx);
    const nfs = await Nfs3Client.connect(d.port);
    try {
      await page.goto(`${url}/sessions/${id}`);
      await page.waitForSelector('#main[data-live=connected]');
      await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true)); // gone on a reload
      expect(await page.locator('ol.events li[data-type=mounted]').count()).toBe(0);
      const timeline = async (type: string) =>
        ((await call('GET', `/api/sessions/${id}/timeline`)).timeline as { type: string; client?: string; path?: string }[]).filter(
          (e) => e.type === type,
        );

      // MNT: one event everywhere
      expect((await nfs.mnt(s.export)).status).toBe(0);
      await until(() => bus.events.length === 1);
      expect(bus.events[0]).toMatchObject({
        event: 'session.mounted',
        data: { session_id: id, project: 'acme/app', data: { client: '127.0.0.1', path: s.export } },
      });
      await until(() => pageStream.events.some((e) => e.event === 'change' && e.data.types.includes('mount')));
      const mounted = await timeline('mounted');
      expect(mounted).toEqual([expect.objectContaining({ client: '127.0.0.1' })]);
      expect(mounted[0]).not.toHaveProperty('actor'); // no API caller: a client of the mount
      await page.waitForSelector('ol.events li[data-type=mounted]');
      await expect(page.locator('ol.events li[data-type=mounted] code').textContent()).resolves.toBe('127.0.0.1');

      // the same client mounting the same export again is no new fact
      expect((await nfs.mnt(s.export)).status).toBe(0);
      // UMNT: unmounted
      await nfs.umnt(s.export);
      await until(() => bus.events.length === 2);
      expect(bus.events.map((e) => e.event)).toEqual(['session.mounted', 'session.unmounted']);
      expect(await timeline('mounted')).toHaveLength(1);
      expect(await timeline('unmounted')).toEqual([expect.objectContaining({ client: '127.0.0.1' })]);
      await page.waitForSelector('ol.events li[data-type=unmounted]');

      // a directory inside the export, then UMNTALL
      const root = await nfs.mountRoot(s.export);
      expect((await nfs.lookup(root, 'src')).status).toBe(NfsStatus.OK);
      expect((await nfs.mnt(`${s.export}/src`)).status).toBe(0);
      await until(() => bus.events.length === 4);
      await nfs.umntall();
      await until(() => bus.events.length === 6);
      expect(bus.events.map((e) => [e.event, e.data.data.path])).toEqual([
        ['session.mounted', s.export],
        ['session.unmounted', s.export],
        ['session.mounted', s.export],
        ['session.mounted', `${s.export}/src`],
        ...[
          ['session.unmounted', `${s.export}/src`],
          ['session.unmounted', s.export],
        ],
      ]);
      // how each ended: UMNT, then UMNTALL for both
      expect(bus.events.filter((e) => e.event === 'session.unmounted').map((e) => e.data.data.reason)).toEqual([
        'umnt',
        'umntall',
        'umntall',
      ]);
      expect((await timeline('unmounted')).map((e) => (e as { reason?: string }).reason)).toEqual(['umnt', 'umntall', 'umntall']);
      expect((await timeline('mounted')).map((e) => e.path ?? '/')).toEqual(['/', '/', 'src']);
      await until(async () => (await page.locator('ol.events li[data-type=unmounted]').count()) === 3);
      await expect(page.locator('ol.events li[data-type=mounted]').first().textContent()).resolves.toContain('(directory src)');
      expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true); // no reload
      expect(errors).toEqual([]);
    } finally {
      bus.close();
      pageStream.close();
      await nfs.close();
      await ctx.close();
    }
  }, 90_000);
});
