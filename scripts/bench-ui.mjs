#!/usr/bin/env node
// Web UI benchmark (not a test): how soon the session page of a session with 1,000 changes is
// interactive in headless chromium (Debian's /usr/bin/chromium through playwright-core). Prints JSON.
//
//   node scripts/bench-ui.mjs [--changes 1000] [--runs 7]
//
// The session changes 1,000 files of a 1,500-file project (500 added, 400 modified, 100 deleted), once
// landed and once live (its tree is sealed on each read). "interactive_ms" is from navigation start to the
// moment the page has rendered every change row and its main thread is free again (a task queued after
// the render runs); medians over the warm runs, the first (cold) run reported apart, with the marks of the
// median run (script ready, data received, rows drawn, ms from navigation start) and the CPU time spent
// (the page's main thread; this process, which runs the daemon and drives the browser): on a busy machine
// CPU time is the steadier measure of the work itself. Also: the page weight.
/* global document, performance -- in page.evaluate callbacks, which run in the browser */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, fixtureDaemon } from './ui-fixture.mjs';

const args = process.argv.slice(2);
const arg = (n, d) => {
  const i = args.indexOf(n);
  return i >= 0 ? args[i + 1] : d;
};
const N = Number(arg('--changes', '1000'));
const RUNS = Number(arg('--runs', '7'));

const f = await fixtureDaemon();
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
try {
  const base = {};
  const line = (i, k) => `line ${k} of file ${i}: ${'lorem ipsum '.repeat(3)}\n`;
  const body = (i, n, tag = '') => Array.from({ length: n }, (_, k) => (k === 5 ? `changed ${tag}\n` : line(i, k))).join('');
  for (let i = 0; i < 1500; i++) base[`src/m${Math.floor(i / 100)}/f${i}.ts`] = body(i, 40);
  await f.project('bench/ui', base);
  const added = Math.round(N / 2),
    modified = Math.round(N * 0.4),
    deleted = N - added - modified;
  const files = [];
  for (let i = 0; i < added; i++)
    files.push({ path: `new/n${Math.floor(i / 100)}/a${i}.ts`, change_type: 'added', content: body(i, 30, 'new') });
  for (let i = 0; i < modified; i++)
    files.push({ path: `src/m${Math.floor(i / 100)}/f${i}.ts`, change_type: 'modified', content: body(i, 40, 'edit') });
  for (let i = 0; i < deleted; i++) files.push({ path: `src/m14/f${1400 + i}.ts`, change_type: 'deleted' });
  const mk = async (goal) => {
    const s = (
      await f.call('POST', '/api/sessions/start', {
        project: 'bench/ui',
        goal,
        conversation: [{ role: 'user', content: 'change many files' }],
      })
    ).session;
    for (let i = 0; i < files.length; i += 250)
      await f.call('POST', `/api/sessions/${s.session_id}/files`, { files: files.slice(i, i + 250) });
    return s.session_id;
  };
  const live = await mk('live session with many changes');
  const landedId = await mk('landed session with many changes');
  await f.call('POST', `/api/sessions/${landedId}/land`, {});

  const measure = async (id) => {
    const times = [];
    const api = [];
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    for (let r = 0; r < RUNS; r++) {
      const page = await ctx.newPage();
      const cdp = await ctx.newCDPSession(page);
      await cdp.send('Performance.enable');
      const cpu0 = process.cpuUsage(); // the daemon runs in this process
      await page.goto(`${f.url}/sessions/${id}`);
      await page.waitForFunction(
        (n) => document.querySelectorAll('li.change').length === n && !document.querySelector('#main[aria-busy]'),
        N,
        { timeout: 60_000, polling: 'raf' },
      );
      const t = await page.evaluate(() => new Promise((res) => setTimeout(() => res(performance.now()), 0)));
      const marks = await page.evaluate(() => {
        const at = (n) => Math.round(performance.getEntriesByName(n)[0]?.startTime ?? -1);
        const nav = performance.getEntriesByType('navigation')[0];
        return {
          script_ready: Math.round(nav.domContentLoadedEventEnd),
          data: at('mic:session-data'),
          rendered: at('mic:session-rendered'),
        };
      });
      const cpu = process.cpuUsage(cpu0);
      const m = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value]));
      marks.cpu_ms = { page_main_thread: Math.round(m.ThreadTime * 1000), daemon_and_driver: Math.round((cpu.user + cpu.system) / 1000) };
      times.push(Math.round(t));
      api.push(marks);
      await page.close();
    }
    await ctx.close();
    const warm = times.slice(1).sort((a, b) => a - b);
    // the warm run whose interactive time is the median: when the script was ready, the data in, the rows drawn
    const mid = times.indexOf(warm[Math.floor(warm.length / 2)], 1);
    return { cold_ms: times[0], interactive_ms: times[mid], runs_ms: times, median_run_marks_ms: api[mid] };
  };
  const result = {
    changes: N,
    landed: await measure(landedId),
    live: await measure(live),
    page_weight: JSON.parse(readFileSync(new URL('../dist/ui-assets/weight.json', import.meta.url), 'utf8')),
    target_ms: 300,
    /** the machine's load while measuring (1-minute average) and its cores: other work inflates every number */
    load_average: Math.round(loadavg()[0] * 10) / 10,
    cores: cpus().length,
  };
  result.under_target = result.landed.interactive_ms < 300 && result.live.interactive_ms < 300;
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  await f.close();
}
