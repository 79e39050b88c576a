// The event loop's delay statistics (nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds), in
// place of prom-client's: prom-client resets its delay histogram at each scrape and reports whatever the
// empty histogram says until it samples again (every 10 ms): mean and stddev NaN (printed `Nan`, which no
// Prometheus parser accepts), min 9.2e9 s. So a scrape right after startup, or right after another scrape,
// broke. Here the statistics of the samples since the previous scrape are reported when there are any, the
// previous ones (zero before the first sample) otherwise.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** How often the delay histogram samples. Each sample is a timer that wakes an idle daemon: at 10 ms
 *  (prom-client's default) ~100 wake-ups a second, 8 ms of CPU a second with nothing to do (65-80 us each
 *  on the test VM), over 1.5 s in a bench:work pass (docs/perf-notes.md, "Server CPU of the real
 *  workload"). At 100 ms it still woke an idle daemon 10 times a second (with the session-events watcher
 *  polling as often, test/api/idle-wakeups.test.ts); at 500 ms the statistics get two samples a second, 30 per
 *  15 s scrape. */
export const EVENT_LOOP_PRECISION_MS = 500;
/** prom-client's histogram, whose gauges are replaced here, samples this rarely. */
export const UNUSED_MONITOR_MS = 10_000;

const STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;
type Stat = (typeof STATS)[number];

const HELP: Record<Stat, string> = {
  min: 'The minimum recorded event loop delay.',
  max: 'The maximum recorded event loop delay.',
  mean: 'The mean of the recorded event loop delays.',
  stddev: 'The standard deviation of the recorded event loop delays.',
  p50: 'The 50th percentile of the recorded event loop delays.',
  p90: 'The 90th percentile of the recorded event loop delays.',
  p99: 'The 99th percentile of the recorded event loop delays.',
};

/** Replaces prom-client's event loop delay gauges in registry (after collectDefaultMetrics). */
export function collectEventLoopDelay(registry: Registry): void {
  const h = monitorEventLoopDelay({ resolution: EVENT_LOOP_PRECISION_MS });
  h.enable();
  const last: Record<Stat, number> = { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 };
  const current = (): Record<Stat, number> => {
    if (h.count > 0) {
      const ns = {
        min: h.min,
        max: h.max,
        mean: h.mean,
        stddev: h.stddev,
        p50: h.percentile(50),
        p90: h.percentile(90),
        p99: h.percentile(99),
      };
      for (const k of STATS) if (Number.isFinite(ns[k])) last[k] = ns[k] / 1e9;
      h.reset();
    }
    return last;
  };
  for (const k of STATS) {
    const name = `nodejs_eventloop_lag_${k}_seconds`;
    registry.removeSingleMetric(name);
    new Gauge({
      name,
      help: HELP[k],
      registers: [registry],
      collect() {
        this.set(current()[k]);
      },
    });
  }
}
