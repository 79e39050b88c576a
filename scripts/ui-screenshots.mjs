#!/usr/bin/env node
// Screenshots of the web UI for docs/ (sessions list, a session page, a diff), taken in headless chromium
// against a daemon with sample data. `npm run build` first; then: node scripts/ui-screenshots.mjs
/* global document -- in page.evaluate callbacks, which run in the browser */
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, fixtureDaemon } from './ui-fixture.mjs';

const out = new URL('../docs/', import.meta.url);
const f = await fixtureDaemon();
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
try {
  await f.project('myorg/myapp', {
    'src/main.ex': 'defmodule Main do\n  def start do\n    :ok\n  end\nend\n',
    'src/old_auth.ex': 'defmodule OldAuth do\nend\n',
    'src/server.ts': [
      "import http from 'node:http';",
      '',
      '/** Answers every request with a greeting. */',
      'export function serve(port: number) {',
      '  const server = http.createServer((req, res) => {',
      "    res.end('hello');",
      '  });',
      '  server.listen(port);',
      '  return server;',
      '}',
      '',
    ].join('\n'),
    'README.md': '# myapp\n',
  });
  await f.call('POST', '/api/sessions', {
    session_id: 'unique-id',
    goal: 'Add authentication system',
    organization: 'myorg',
    project: 'myapp',
    agent: 'claude_code',
    tags: ['auth'],
    conversation: [
      { role: 'user', content: 'We need JWT-based auth' },
      { role: 'assistant', content: "I'll implement with bcrypt for passwords" },
    ],
    decisions: [{ decision: 'Use JWT tokens for stateless auth', reasoning: 'Keeps the system scalable and cloud-friendly' }],
    files: [
      { path: 'src/auth/jwt.ex', change_type: 'added', content: 'defmodule Auth.JWT do\n  def sign(claims), do: {:ok, claims}\nend\n' },
      {
        path: 'src/main.ex',
        change_type: 'modified',
        content: 'defmodule Main do\n  # Updated with auth routes\n  def start do\n    Auth.JWT.sign(%{})\n  end\nend\n',
      },
      { path: 'src/old_auth.ex', change_type: 'deleted' },
    ],
  });
  const live = (
    await f.call('POST', '/api/sessions/start', {
      project: 'myorg/myapp',
      goal: 'Require a bearer token on every request',
      agent: 'claude_code',
      tags: ['auth', 'security'],
      conversation: [
        { role: 'user', content: 'Reject requests without `Authorization: Bearer <token>`.' },
        {
          role: 'assistant',
          content: 'Checking the header in `serve`, with a **constant-time** comparison:\n\n```ts\ntimingSafeEqual(a, b)\n```',
        },
      ],
      decisions: [
        { decision: 'Compare digests with timingSafeEqual', reasoning: 'A plain string comparison leaks the token through timing.' },
      ],
    })
  ).session;
  await f.call('POST', `/api/sessions/${live.session_id}/files`, {
    files: [
      {
        path: 'src/server.ts',
        change_type: 'modified',
        content: [
          "import http from 'node:http';",
          "import { createHash, timingSafeEqual } from 'node:crypto';",
          '',
          '/** Answers requests that carry the token with a greeting. */',
          'export function serve(port: number, token: string) {',
          "  const want = createHash('sha256').update(token).digest();",
          '  const server = http.createServer((req, res) => {',
          "    const got = createHash('sha256').update(req.headers.authorization ?? '').digest();",
          '    if (!timingSafeEqual(got, want)) {',
          '      res.statusCode = 401;',
          "      return res.end('unauthorized');",
          '    }',
          "    res.end('hello');",
          '  });',
          '  server.listen(port);',
          '  return server;',
          '}',
          '',
        ].join('\n'),
      },
      {
        path: 'test/server.test.ts',
        change_type: 'added',
        content: "import { serve } from '../src/server';\n\ntest('401 without a token', () => {\n  expect(serve).toBeDefined();\n});\n",
      },
    ],
  });
  const abandoned = (
    await f.call('POST', '/api/sessions/start', { project: 'myorg/myapp', goal: 'Try sessions in cookies', agent: 'aider' })
  ).session;
  await f.call('POST', `/api/sessions/${abandoned.session_id}/abandon`);
  await f.call('POST', '/api/sessions/start', { project: 'myorg/myapp', goal: 'Document the auth flow in the README', tags: ['docs'] });

  const shot = async (path, file, o = {}) => {
    const ctx = await browser.newContext({
      viewport: o.viewport ?? { width: 1200, height: 800 },
      colorScheme: o.dark ? 'dark' : 'light',
      deviceScaleFactor: 1,
    });
    const page = await ctx.newPage();
    await page.goto(f.url + path);
    await page.waitForSelector('#main:not([aria-busy])');
    if (o.before) await o.before(page);
    await page.screenshot({ path: new URL(file, out).pathname, fullPage: o.fullPage ?? false });
    await ctx.close();
    process.stderr.write(`docs/${file}\n`);
  };
  await shot('/', 'ui-sessions.png');
  await shot('/sessions/unique-id', 'ui-session.png', { fullPage: true });
  await shot(`/sessions/${live.session_id}`, 'ui-diff.png', {
    dark: true,
    viewport: { width: 1200, height: 900 },
    before: async (page) => {
      await page.click('li.change[data-path="src/server.ts"] button.toggle');
      await page.click('li.change[data-path="src/server.ts"] button[data-view=split]');
      await page.waitForSelector('table.diff.split');
      await page.locator('li.change[data-path="src/server.ts"]').scrollIntoViewIfNeeded();
      await page.evaluate(() => document.querySelector('li.change[data-path="src/server.ts"]').scrollIntoView());
    },
  });
  await shot('/sessions/unique-id', 'ui-session-phone.png', { viewport: { width: 390, height: 844 }, dark: true });
} finally {
  await browser.close();
  await f.close();
}
