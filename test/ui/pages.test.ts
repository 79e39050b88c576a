// The web UI in headless Debian chromium against the real daemon (in process: NFS and HTTP on
// 127.0.0.1): every page renders without console errors; seed 000's session page; diffs; live updates
// from an NFS write; landing from the page; hostile names and content shown as text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { makeProject, testDaemon, http, type TestDaemon } from '../session/helpers.js';
import { launchBrowser, watchedPage, type WatchedPage } from '../lib/browser.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { SEED_000_PROJECT, SEED_000_REQUEST, XSS_CONTENT, XSS_GOAL, XSS_NAME, XSS_REQUEST } from '../lib/ui-fixtures.js';

let t: TestDaemon;
let browser: Browser;
const pages: WatchedPage[] = [];

async function open(path: string, viewport?: { width: number; height: number }): Promise<WatchedPage> {
  const w = await watchedPage(browser, viewport);
  pages.push(w);
  await w.page.goto(t.url + path);
  await w.page.waitForSelector('#main:not([aria-busy])');
  return w;
}

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, 'myorg/myapp', SEED_000_PROJECT);
  await makeProject(t.dataDir, 'acme/app', { 'README.md': 'hello\n', 'src/app.ts': 'export const x = 1;\n' });
  expect((await http(t.url, 'POST', '/api/sessions', SEED_000_REQUEST)).status).toBe(201);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe.sequential('web UI', () => {
  it('lists sessions with badges, counts and filters', async () => {
    const { page, errors } = await open('/');
    const row = page.locator('li.session-row[data-session="unique-id"]');
    await expect(row.locator('.goal').textContent()).resolves.toBe('Add authentication system');
    await expect(row.locator('.badge.status').textContent()).resolves.toBe('landed');
    await expect(row.locator('.counts').textContent()).resolves.toBe('+1 ~1 −1');
    // text filter (goal), through the form: the URL keeps it
    await page.fill('input[name=q]', 'nothing like this');
    await page.press('input[name=q]', 'Enter');
    await page.waitForSelector('li.session-row', { state: 'detached' });
    expect(page.url()).toContain('q=nothing');
    await page.fill('input[name=q]', 'authentication');
    await page.press('input[name=q]', 'Enter');
    await page.waitForSelector('li.session-row[data-session="unique-id"]');
    await page.selectOption('select[name=status]', 'active');
    await page.waitForSelector('li.session-row', { state: 'detached' });
    // "/" jumps to the goal filter
    await page.locator('h1').click();
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('q');
    expect(errors).toEqual([]);
  });

  it("shows seed 000's session: goal, 2 turns, 1 decision, 3 changes with badges; a change expands to its diff", async () => {
    const { page, errors } = await open('/sessions/unique-id');
    await expect(page.locator('h1.goal').textContent()).resolves.toBe('Add authentication system');
    expect(await page.locator('.turn').count()).toBe(2);
    expect(await page.locator('.turn').evaluateAll((els) => els.map((e) => e.getAttribute('data-role')))).toEqual(['user', 'assistant']);
    expect(await page.locator('.decision').count()).toBe(1);
    await expect(page.locator('.decision .what').textContent()).resolves.toBe('Use JWT tokens for stateless auth');
    await expect(page.locator('.decision .why').textContent()).resolves.toBe('Keeps the system scalable and cloud-friendly');
    const changes = await page
      .locator('li.change')
      .evaluateAll((els) =>
        els.map((e) => [e.getAttribute('data-path'), e.getAttribute('data-change'), e.querySelector('.badge')!.textContent]),
      );
    expect(changes).toEqual([
      ['src/auth/jwt.ex', 'added', '+'],
      ['src/main.ex', 'modified', '~'],
      ['src/old_auth.ex', 'deleted', '−'],
    ]);
    await expect(page.locator('[data-stat=total] .value').textContent()).resolves.toBe('3');
    await expect(page.locator('[data-stat=lines-added] .value').textContent()).resolves.toBe('+2');
    await expect(page.locator('[data-stat=lines-removed] .value').textContent()).resolves.toBe('−3');

    // expanding the modified file shows its diff against the base, unified then side by side
    await page.click('li.change[data-path="src/main.ex"] button.toggle');
    const diff = page.locator('li.change[data-path="src/main.ex"] table.diff.unified');
    await diff.waitFor();
    expect(await diff.locator('tr.del td.code').allTextContents()).toEqual(['defmodule Main do', 'end']);
    expect(await diff.locator('tr.add td.code').allTextContents()).toEqual(['# Updated with auth routes...']);
    await page.click('li.change[data-path="src/main.ex"] button[data-view=split]');
    await page.locator('li.change[data-path="src/main.ex"] table.diff.split td.add').first().waitFor();
    // an added file opens on its content, highlighted
    await page.click('li.change[data-path="src/auth/jwt.ex"] button.toggle');
    await expect(page.locator('li.change[data-path="src/auth/jwt.ex"] table.file td.code').textContent()).resolves.toBe(
      'defmodule Auth.JWT do...',
    );
    expect(await page.locator('li.change[data-path="src/auth/jwt.ex"] table.file .hljs-keyword').count()).toBeGreaterThan(0);
    // the timeline and no actions on a landed session
    expect(await page.locator('ol.events li[data-type=landed]').count()).toBe(1);
    expect(await page.locator('button[data-action]').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('updates an open page when the mount is written through NFS, then lands from the page', async () => {
    const s = (await t.api.start({ project: 'acme/app', goal: 'live edits' })).session;
    const { page, errors } = await open(`/sessions/${s.session_id}`);
    await page.waitForSelector('#main[data-live=connected]');
    expect(await page.locator('li.change').count()).toBe(0);

    const nfs = await Nfs3Client.connect(t.d.port);
    try {
      const m = await nfs.mnt(s.export!);
      expect(m.status).toBe(0);
      const c = await nfs.create(m.fh!, 'live.txt');
      expect(c.status).toBe(NfsStatus.OK);
      expect((await nfs.write(c.fh!, 0, Buffer.from('written over NFS\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    } finally {
      await nfs.close();
    }
    // the bound: on the page within 2 s of the write's reply
    await page.waitForSelector('li.change[data-path="live.txt"][data-change=added]', { timeout: 2000 });

    const before = (await t.api.head('acme/app')).head.hash;
    await page.fill('input[name=message]', 'land from the browser');
    await page.click('button[data-action=land]');
    await page.click('dialog.confirm button[data-confirm=ok]');
    await page.waitForSelector('.result .ok');
    expect(await page.locator('.result').textContent()).toMatch(/^Landed as head [0-9a-f]{12}/);
    const head = (await t.api.head('acme/app')).head;
    expect(head.hash).not.toBe(before);
    expect(head.parent).toBe(before);
    expect(head.session).toBe(s.session_id);
    expect(head.message).toBe('land from the browser');
    await page.waitForSelector('.badge.status[data-status=landed]');
    expect(errors).toEqual([]);
  });

  it('draws every row of a long change list (in slices after the first screen); a live update keeps the unchanged rows, open ones open', async () => {
    const s = (await t.api.start({ project: 'acme/app', goal: 'many changes' })).session;
    const files = Array.from({ length: 150 }, (_, i) => ({
      path: `gen/f${String(i).padStart(3, '0')}.txt`,
      change_type: 'added' as const,
      content: `file ${i}\n`,
    }));
    await t.api.files(s.session_id, { files });
    const { page, errors } = await open(`/sessions/${s.session_id}`);
    await page.waitForSelector('#main[data-live=connected] ul.changes:not([aria-busy])');
    expect(await page.locator('li.change').count()).toBe(150);
    expect(await page.locator('li.change').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')))).toEqual(
      files.map((f) => f.path),
    );
    // a row far below the first screen opens on its content
    const row = page.locator('li.change[data-path="gen/f140.txt"]');
    await row.locator('button.toggle').click();
    await expect(row.locator('table.file td.code').textContent()).resolves.toBe('file 140');
    // a change made meanwhile reaches the page; the rows that did not change are the same elements
    // (moved, not drawn again: the open one keeps its content without asking again)
    await row.evaluate((el) => el.setAttribute('data-test-mark', 'before'));
    const version = Number(await page.locator('#main').getAttribute('data-version'));
    await t.api.files(s.session_id, { files: [{ path: 'gen/zz-last.txt', change_type: 'added', content: 'last\n' }] });
    await page.waitForSelector('li.change[data-path="gen/zz-last.txt"]');
    await page.waitForSelector('ul.changes:not([aria-busy])');
    expect(Number(await page.locator('#main').getAttribute('data-version'))).toBeGreaterThan(version);
    expect(await page.locator('li.change').count()).toBe(151);
    await expect(row.getAttribute('class')).resolves.toContain('open');
    await expect(row.getAttribute('data-test-mark')).resolves.toBe('before');
    await expect(row.locator('table.file td.code').textContent()).resolves.toBe('file 140');
    expect(errors).toEqual([]);
  });

  it('asks before acting; shows conflicts with the three versions; rebases, suspends, notes, decides, abandons', async () => {
    const a = (await t.api.start({ project: 'acme/app', goal: 'one side' })).session;
    const b = (await t.api.start({ project: 'acme/app', goal: 'other side' })).session;
    await t.api.files(a.session_id, { files: [{ path: 'README.md', change_type: 'modified', content: 'from a\n' }] });
    await t.api.files(b.session_id, { files: [{ path: 'README.md', change_type: 'modified', content: 'from b\n' }] });
    await t.api.land(a.session_id, {});
    const { page, errors } = await open(`/sessions/${b.session_id}`);
    // cancel: nothing happens
    await page.click('button[data-action=suspend]');
    await page.click('dialog.confirm button[data-confirm=cancel]');
    expect((await t.api.get(b.session_id)).session.status).toBe('active');
    await page.click('button[data-action=land]');
    await page.click('dialog.confirm button[data-confirm=ok]');
    const conflict = page.locator('li.conflict[data-path="README.md"]');
    await conflict.waitFor();
    expect(await conflict.locator('.side table.file td.code').allTextContents()).toEqual(['hello', 'from b', 'from a']);
    expect((await t.api.get(b.session_id)).session.status).toBe('active');
    // rebase onto the head that conflicts: the conflict is left in the file, with markers
    await page.click('button[data-action=rebase]');
    await page.click('dialog.confirm button[data-confirm=ok]');
    await page.waitForSelector('.result .ok >> text=/^Rebased from/');
    expect(await page.locator('.result li.conflict[data-path="README.md"]').count()).toBe(1);
    expect((await t.api.get(b.session_id)).session.base_head).toBe((await t.api.head('acme/app')).head.hash);
    // suspend, with a note and a decision, then abandon
    await page.click('button[data-action=suspend]');
    await page.click('dialog.confirm button[data-confirm=ok]');
    await page.waitForSelector('button[data-action=resume]');
    await page.fill('textarea[name=note]', 'a **note**');
    await page.click('form[data-form=note] button[type=submit]');
    await page.click('dialog.confirm button[data-confirm=ok]');
    await page.waitForSelector('.turn .md strong');
    await page.fill('input[name=decision]', 'keep b');
    await page.click('form[data-form=decision] button[type=submit]');
    await page.click('dialog.confirm button[data-confirm=ok]');
    await page.waitForSelector('.decision .what >> text=keep b');
    const rec = (await t.api.get(b.session_id)).session;
    expect(rec.status).toBe('suspended');
    expect(rec.conversation.at(-1)).toMatchObject({ role: 'user', content: 'a **note**' });
    expect(rec.decisions.at(-1)).toMatchObject({ decision: 'keep b' });
    await page.click('button[data-action=abandon]');
    await page.click('dialog.confirm button[data-confirm=ok]');
    await page.waitForSelector('.badge.status[data-status=abandoned]');
    expect((await t.api.get(b.session_id)).session.status).toBe('abandoned');
    expect(await page.locator('button[data-action]').count()).toBe(0);
    // the browser reports the 409 answer of the refused landing itself; nothing else went wrong
    expect(errors).toEqual(['console: Failed to load resource: the server responded with a status of 409 (Conflict)']);
    errors.length = 0;
  });

  it('shows hostile names, goals, conversation and content as text', async () => {
    expect((await http(t.url, 'POST', '/api/sessions', XSS_REQUEST)).status).toBe(201);
    for (const path of ['/', '/sessions/xss-1', '/projects/myorg/myapp', `/projects/myorg/myapp/tree/HEAD`]) {
      const { page, errors, dialogs } = await open(path);
      if (path === '/sessions/xss-1') {
        await expect(page.locator('h1.goal').textContent()).resolves.toBe(XSS_GOAL);
        await page.click(`li.change[data-path="${XSS_NAME.replace(/"/g, '\\"')}"] button.toggle`);
        const code = page.locator('li.change[data-change=added] table.file');
        await code.waitFor();
        expect((await code.locator('td.code').allTextContents()).join('\n') + '\n').toBe(XSS_CONTENT);
        await expect(page.locator('li.change[data-change=added] .path').textContent()).resolves.toBe(XSS_NAME);
        await expect(page.locator('.turn').first().locator('.md').textContent()).resolves.toContain('<img src=x onerror="window.__xss=5">');
        await expect(page.locator('.decision .what').textContent()).resolves.toBe('<img src=x onerror="window.__xss=9">');
        // javascript: links are not links
        expect(await page.locator('a[href^="javascript:" i]').count()).toBe(0);
      }
      if (path === '/') await expect(page.locator('li.session-row[data-session="xss-1"] .goal').textContent()).resolves.toBe(XSS_GOAL);
      if (path.includes('/tree/')) await expect(page.locator('ul.tree a', { hasText: XSS_NAME }).count()).resolves.toBe(1);
      // nothing from the fixture became an element or ran
      expect(await page.locator('main img, main script, main svg, main b, main i').count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
      expect(dialogs).toEqual([]);
      expect(errors).toEqual([]);
    }
  });

  it('renders the project pages: log, head, tree, file, blame linking to session and decision, compare', async () => {
    const log = await open('/projects/myorg/myapp');
    const heads = await log.page.locator('li.head-row').count();
    expect(heads).toBe(3); // import, seed 000, xss
    await expect(log.page.locator('li.head-row').nth(1).locator('.goal').textContent()).resolves.toBe('Add authentication system');
    await log.page.click('li.head-row:nth-child(2) a[href*="/heads/"]');
    await log.page.waitForSelector('li.change[data-path="src/auth/jwt.ex"]');
    await log.page.click('a:text("Browse files")');
    await log.page.waitForSelector('ul.tree a:text("src/")');
    await log.page.click('ul.tree a:text("src/")');
    await log.page.click('ul.tree a:text("main.ex")');
    await expect(log.page.locator('table.file td.code').first().textContent()).resolves.toBe('# Updated with auth routes...');
    await log.page.click('a:text("Blame")');
    await log.page.waitForSelector('table.blame');
    expect(await log.page.locator('table.blame a[href="/sessions/unique-id"]').count()).toBe(1);
    expect(await log.page.locator('table.blame a[href="/sessions/unique-id#decision-0"]').count()).toBe(1);
    expect(log.errors).toEqual([]);

    // blame at HEAD: the xss session's line, then compare the import with HEAD
    const blame = await open('/projects/myorg/myapp/blame/HEAD/src/main.ex');
    expect(await blame.page.locator('table.blame a[href="/sessions/xss-1"]').count()).toBe(1);
    const first = (await t.api.log('myorg/myapp')).heads.at(-1)!.hash;
    const cmp = await open(`/projects/myorg/myapp/compare?a=${first.slice(0, 8)}&b=HEAD`);
    expect(await cmp.page.locator('li.change').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')))).toEqual([
      XSS_NAME,
      'src/auth/jwt.ex',
      'src/main.ex',
      'src/old_auth.ex',
    ]);
    expect(blame.errors).toEqual([]);
    expect(cmp.errors).toEqual([]);
  });

  it('signs in through the login form when a token is configured; the cookie serves pages, data and events', async () => {
    const token = 'browser-login-token';
    const td = await testDaemon({ token });
    try {
      await makeProject(td.dataDir, 'myorg/myapp', SEED_000_PROJECT);
      const s = (await td.api.start({ project: 'myorg/myapp', goal: 'behind a login' })).session;
      const w = await watchedPage(browser);
      pages.push(w);
      await w.page.goto(`${td.url}/sessions/${s.session_id}`);
      await w.page.waitForSelector('input#token');
      await w.page.fill('input#token', 'wrong');
      await w.page.click('button[type=submit]');
      await w.page.waitForSelector('.error[role=alert]');
      await w.page.fill('input#token', token);
      await w.page.click('button[type=submit]');
      await w.page.waitForSelector('#main[data-live=connected]');
      expect(new URL(w.page.url()).pathname).toBe(`/sessions/${s.session_id}`);
      await expect(w.page.locator('h1.goal').textContent()).resolves.toBe('behind a login');
      const cookies = await w.page.context().cookies();
      expect(cookies.find((c) => c.name === 'mic_token')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      // the wrong token's 401 is the only error the browser reported
      expect(w.errors).toEqual(['console: Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
      w.errors.length = 0;
      // signing out drops the cookie: the next page asks for the token again
      await w.page.click('form.logout button');
      await w.page.waitForSelector('input#token');
      expect((await w.page.context().cookies()).find((c) => c.name === 'mic_token')).toBeUndefined();
      await w.page.close(); // before its daemon goes away (its event stream would break)
    } finally {
      await td.close();
    }
  });

  it('fits a phone-width screen, works with the keyboard, follows the system theme', async () => {
    const { page, errors } = await open('/sessions/unique-id', { width: 375, height: 740 });
    // no horizontal scrolling of the page
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    // Tab reaches a change row; Enter expands it
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.closest('li.change')?.getAttribute('data-path'))) break;
    }
    await page.keyboard.press('Enter');
    await page.waitForSelector('li.change button.toggle[aria-expanded=true]');
    // light and dark follow the system
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await bg()).toBe('rgb(255, 255, 255)');
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await bg()).toBe('rgb(13, 17, 23)');
    expect(errors).toEqual([]);
  });

  it('pages the session list newest first: "older" follows the cursor, "newest" returns, filters stay', async () => {
    const made: string[] = [];
    for (let i = 0; i < 26; i++)
      made.push((await t.api.start({ goal: `paging ${i}`, project: 'acme/app', tags: ['paging'] })).session.session_id);
    const { page, errors } = await open('/?tag=paging');
    const shown = () => page.locator('li.session-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-session')));
    const first = await shown();
    expect(first).toHaveLength(25);
    expect(new Set([...first, ...made]).size).toBe(26); // only sessions of the filter
    await page.click('nav.pager a[rel=next]');
    await page.waitForURL(/cursor=/);
    await page.waitForFunction(() => document.querySelectorAll('li.session-row').length === 1);
    const second = await shown();
    expect([...first, ...second].sort()).toEqual([...made].sort());
    expect(page.url()).toContain('tag=paging');
    expect(await page.locator('nav.pager a[rel=next]').count()).toBe(0);
    await page.click('nav.pager a[rel=first]');
    await page.waitForFunction(() => document.querySelectorAll('li.session-row').length === 25);
    expect(await shown()).toEqual(first);
    expect(errors).toEqual([]);
  });
});

afterAll(() => {
  // pages that logged errors after their test are reported here
  const late = pages.flatMap((p) => p.errors);
  expect(late).toEqual([]);
});
