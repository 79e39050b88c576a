// /metrics of the real daemon (dist/) never shows a NaN or an infinite sample: not on a scrape right after
// it started (the event-loop delay histogram has no sample yet), nor on the scrape right after another one
// (prom-client resets that histogram at each scrape, and its mean and stddev are NaN until it samples
// again, its min 9.2e9 s). And it serves the metric families listed in metric-families.json (name, type,
// help; recorded from the daemon when prom-client was loaded at start-up by every process, before metrics
// were turned on only by the daemon: src/metrics/registry.ts): a new metric is added to that list.
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

  it('are the families it always served, each unlabelled one with its sample', async () => {
    const want = JSON.parse(readFileSync(join(import.meta.dirname, 'metric-families.json'), 'utf8')) as {
      families: Array<{ name: string; type: string; help: string }>;
      idle_series: string[];
    };
    const families = parsePrometheusText(await scrape());
    const got = [...families.values()].map((f) => ({ name: f.name, type: f.type, help: f.help }));
    expect(got.sort((a, b) => (a.name < b.name ? -1 : 1))).toEqual(want.families);
    // an idle daemon's mic_* series: unlabelled counters and gauges print 0, the NFS byte counters both ops
    const series = [...families.values()]
      .filter((f) => f.name.startsWith('mic_'))
      .flatMap((f) =>
        f.samples.map(
          (x) =>
            x.name +
            (Object.keys(x.labels).length
              ? `{${Object.entries(x.labels)
                  .map(([k, v]) => `${k}="${v}"`)
                  .join(',')}}`
              : ''),
        ),
      );
    expect(series.sort()).toEqual(want.idle_series);
  });
});
