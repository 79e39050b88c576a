// Headless Debian chromium (the `chromium` package, /usr/bin/chromium) driven by playwright-core: no
// browser download. Each launch gets a fresh profile. Console errors and page errors are collected per
// page so that tests can insist on none.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
}

export interface WatchedPage {
  page: Page;
  errors: string[];
  dialogs: string[];
}

/** A page in a new context that records console errors, uncaught exceptions and dialogs (dismissed). */
export async function watchedPage(browser: Browser | BrowserContext, viewport = { width: 1280, height: 900 }): Promise<WatchedPage> {
  const ctx = 'newContext' in browser ? await browser.newContext({ viewport }) : browser;
  const page = await ctx.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  return { page, errors, dialogs };
}
