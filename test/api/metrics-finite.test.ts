// /metrics of the real daemon (dist/) never shows a NaN or an infinite sample: not on a scrape right after
// it started (the event-loop delay histogram has no sample yet), nor on the scrape right after another one
// (prom-client resets that histogram at each scrape, and its mean and stddev are NaN until it samples
// again, its min 9.2e9 s).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { parsePrometheusText } from '../lib/prom-text.js';

let d: Daemon;
beforeAll(async () => {
  d = await startDaemon({ args: ['--api-port', '0'] });
}, 60_000);
afterAll(async () => {
  await d?.stop();
});

async function scrape(): Promise<string> {
  const info = JSON.parse(readFileSync(join(d.dataDir, 'daemon.json'), 'utf8')) as { api_port: number; api_token_file?: string | null };
  const token = info.api_token_file ? readFileSync(info.api_token_file, 'utf8').trim() : undefined;
  const res = await fetch(`http://127.0.0.1:${info.api_port}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  return res.text();
}

/** Every sample that is not a finite number (histogram bucket bounds are labels, not values). */
function notFinite(text: string): string[] {
  const bad: string[] = [];
  for (const [, f] of parsePrometheusText(text))
    for (const s of f.samples) if (!Number.isFinite(s.value)) bad.push(`${s.name}${JSON.stringify(s.labels)} ${s.value}`);
  return bad;
}

describe('/metrics values', () => {
  it('are finite on the first scrape after startup and on back-to-back scrapes', async () => {
    const scrapes = [await scrape(), await scrape(), await scrape()];
    for (const text of scrapes) {
      expect(text).toMatch(/^nodejs_eventloop_lag_mean_seconds /m);
      expect(notFinite(text)).toEqual([]);
      // the delay statistics are of the event loop, not the histogram's empty sentinels
      const min = Number(/^nodejs_eventloop_lag_min_seconds (\S+)$/m.exec(text)![1]);
      const max = Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)![1]);
      expect(min).toBeLessThanOrEqual(max);
      expect(max).toBeLessThan(3600);
    }
  });
});
