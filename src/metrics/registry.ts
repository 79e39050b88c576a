// The Prometheus registry of the daemon (prom-client): every mic_* metric and the process metrics.
// Metrics are module-level, as loggers are: any layer may count into them; the daemon serves
// registry.metrics() at GET /metrics (text exposition format 0.0.4).
import { Registry, collectDefaultMetrics } from 'prom-client';
import { collectEventLoopDelay, UNUSED_MONITOR_MS } from './event-loop.js';

export const registry = new Registry();

let processMetrics = false;
/** Adds prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC); once per process. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  // prom-client's own delay histogram is still sampled (a timer) though event-loop.ts replaces its gauges:
  // rarely, so that it costs no wake-ups (at its default of 10 ms: 100 a second, docs/perf-notes.md)
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: UNUSED_MONITOR_MS });
  collectEventLoopDelay(registry); // never NaN (event-loop.ts)
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
