// The web UI signed in with a user's token (identity, issue 12) in headless Debian chromium against the
// real daemon: the pages and their data run with that user's rights. A read-only user browses the
// projects it may read, never sees the others, and is refused the land action with a message that says
// why; signing out clears the cookie; a revoked token sends the browser back to the login form.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { makeProject, testDaemon, http, type TestDaemon } from '../session/helpers.js';
import { launchBrowser, watchedPage } from '../lib/browser.js';

const ADMIN = 'ui-user-login-admin-token';
const admin = { authorization: `Bearer ${ADMIN}` };

let t: TestDaemon;
let browser: Browser;
let mine: string;
let hidden: string;
let readerToken: { id: string; token: string };

beforeAll(async () => {
  t = await testDaemon({ token: ADMIN });
  await makeProject(t.dataDir, 'acme/app', { 'README.md': 'hello\n' });
  await makeProject(t.dataDir, 'other/x', { 'x.txt': 'x\n' });
  expect((await http(t.url, 'POST', '/api/users', { name: 'reader', roles: ['read@acme/app'] }, admin)).status).toBe(201);
  const tok = await http(t.url, 'POST', '/api/tokens', { user: 'reader' }, admin);
  expect(tok.status).toBe(201);
  readerToken = { id: tok.body.record.id, token: tok.body.token };
  expect(readerToken.token).toMatch(/^mic_/);
  mine = (await t.api.start({ project: 'acme/app', goal: 'readable work' })).session.session_id;
  await t.api.files(mine, { files: [{ path: 'notes.md', change_type: 'added', content: 'a note\n' }] });
  hidden = (await t.api.start({ project: 'other/x', goal: 'not for the reader' })).session.session_id;
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe.sequential('web UI with a user token', () => {
  it('browses with a read-only user token; land is refused with a clear message; sign out clears the cookie', async () => {
    const { page, errors } = await watchedPage(browser);
    await page.goto(`${t.url}/sessions/${mine}`);
    await page.fill('input#token', readerToken.token);
    await page.click('button[type=submit]');
    await page.waitForSelector('#main[data-live=connected]');
    expect(new URL(page.url()).pathname).toBe(`/sessions/${mine}`);
    await expect(page.locator('h1.goal').textContent()).resolves.toBe('readable work');
    await expect(page.locator('li.change[data-path="notes.md"][data-change=added]').count()).resolves.toBe(1);
    await expect(page.locator('header.top .who').textContent()).resolves.toBe('Signed in as reader');
    const cookie = (await page.context().cookies()).find((c) => c.name === 'mic_token');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', value: encodeURIComponent(readerToken.token) });

    // landing needs the land right: refused, said so, and the head stays where it was
    const before = (await t.api.head('acme/app')).head.hash;
    await page.click('button[data-action=land]');
    await page.click('dialog.confirm button[data-confirm=ok]');
    await page.waitForSelector('.result .error[data-refused]');
    expect(await page.locator('.result').textContent()).toBe(
      `Landing refused (signed in as reader): reader lacks the "land" right on session ${mine} of acme/app`,
    );
    expect((await t.api.head('acme/app')).head.hash).toBe(before);
    await expect(page.locator('.badge.status').first().textContent()).resolves.toBe('active');

    // the list shows only what the reader may read; another project's data is refused
    await page.click('header.top a.brand');
    await page.waitForSelector(`li.session-row[data-session="${mine}"]`);
    expect(await page.locator(`li.session-row[data-session="${hidden}"]`).count()).toBe(0);
    const other = await page.request.get(`${t.url}/ui/api/sessions/${hidden}`);
    expect(other.status()).toBe(403);
    expect((await page.request.get(`${t.url}/ui/api/projects/other/x/log`)).status()).toBe(403);
    expect((await page.request.get(`${t.url}/ui/api/projects/acme/app/log`)).status()).toBe(200);
    const hiddenHead = (await t.api.head('other/x')).head.hash;
    expect((await page.request.get(`${t.url}/ui/api/projects/other/x/tree/${hiddenHead}`)).status()).toBe(403);
    expect((await page.request.get(`${t.url}/ui/api/projects/other/x/blobs/${'0'.repeat(64)}`)).status()).toBe(403);
    // the refused land is the only error the page reported
    expect(errors).toEqual(['console: Failed to load resource: the server responded with a status of 403 (Forbidden)']);

    await page.click('form.logout button');
    await page.waitForSelector('input#token');
    expect((await page.context().cookies()).find((c) => c.name === 'mic_token')).toBeUndefined();
    expect((await page.request.get(`${t.url}/ui/api/sessions/${mine}`)).status()).toBe(401);
    await page.context().close();
  });

  it('sends a browser whose user token was revoked back to the login form', async () => {
    const tok = await http(t.url, 'POST', '/api/tokens', { user: 'reader' }, admin);
    const { page, errors } = await watchedPage(browser);
    await page.goto(`${t.url}/login?next=/`);
    await page.fill('input#token', tok.body.token);
    await page.click('button[type=submit]');
    await page.waitForSelector(`li.session-row[data-session="${mine}"]`);
    expect((await http(t.url, 'DELETE', `/api/tokens/${tok.body.record.id}`, undefined, admin)).status).toBe(200);
    await page.goto(`${t.url}/sessions/${mine}`);
    await page.waitForSelector('input#token');
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
