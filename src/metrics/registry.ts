// The Prometheus registry of the daemon (prom-client): every mic_* metric and the process metrics.
// Metrics are module-level, as loggers are: any layer may count into them; the daemon serves
// registry.metrics() at GET /metrics (text exposition format 0.0.4).
import { Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();

/** How often the event-loop delay histogram samples (prom-client's default is 10 ms). Each sample is a timer
 *  that wakes the idle daemon: at 10 ms that was ~100 wake-ups a second, 8 ms of CPU a second with nothing
 *  to do (65-80 us each on this VM), 1.6 s over a workload of a few minutes (docs/perf-notes.md, "Server CPU
 *  of the real workload"). At 100 ms the lag histogram still gets ten samples a second. */
export const EVENT_LOOP_PRECISION_MS = 100;

let processMetrics = false;
/** Adds prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC); once per process. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS });
}

export const METRICS_CONTENT_TYPE = registry.contentType;

/** The exposition text of every registered metric. */
export function metricsText(): Promise<string> {
  return registry.metrics();
}

/** Latency buckets (seconds) shared by the RPC, S3 and landing histograms: 50 µs .. 30 s. */
export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
