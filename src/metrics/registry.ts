// The Prometheus registry of the daemon (prom-client): every mic_* metric and the process metrics.
// Metrics are module-level, as loggers are: any layer may count into them; the daemon serves the
// registry at GET /metrics (text exposition format 0.0.4).
//
// prom-client is loaded only when a process turns metrics on (enableMetrics: the daemon, which serves
// /metrics). Until then the metric modules define nothing: a CLI command that opens the store or lands a
// session counts into no-ops (nothing would ever scrape its counts) and never loads prom-client (~50 ms
// and 0.13-0.2 s of CPU per command; docs/perf-notes.md, "CLI start-up"). Each module hands its
// definitions to onMetrics, which runs them when metrics are turned on (at once if they already are).
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import { collectEventLoopDelay, UNUSED_MONITOR_MS } from './event-loop.js';

export type PromClient = typeof import('prom-client');
type Define = (prom: PromClient, registry: Registry) => void;

let on: { prom: PromClient; registry: Registry } | null = null;
const pending: Define[] = [];

/** Runs define (which creates a module's metrics in the registry) once metrics are on: now if they are. */
export function onMetrics(define: Define): void {
  if (on) define(on.prom, on.registry);
  else pending.push(define);
}

/** Turns metrics on in this process: loads prom-client, makes the registry and defines the metrics of every
 *  metric module loaded (and, through onMetrics, of those loaded later). Idempotent. */
export function enableMetrics(): { prom: PromClient; registry: Registry } {
  if (on === null) {
    const prom = createRequire(import.meta.url)('prom-client') as PromClient; // CommonJS: loaded synchronously
    on = { prom, registry: new prom.Registry() };
    for (const define of pending.splice(0)) define(on.prom, on.registry);
  }
  return on;
}

let processMetrics = false;
/** Adds prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC); once per process. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  const { prom, registry } = enableMetrics();
  // prom-client's own delay histogram is still sampled (a timer) though event-loop.ts replaces its gauges:
  // rarely, so that it costs no wake-ups (at its default of 10 ms: 100 a second, docs/perf-notes.md)
  prom.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: UNUSED_MONITOR_MS });
  collectEventLoopDelay(prom, registry); // never NaN (event-loop.ts)
}

/** The exposition text of every registered metric, and its content type (turns metrics on if they are not). */
export async function scrapeMetrics(): Promise<{ contentType: string; text: string }> {
  const { registry } = enableMetrics();
  return { contentType: registry.contentType, text: await registry.metrics() };
}

/** Latency buckets (seconds) shared by the RPC, S3 and landing histograms: 50 µs .. 30 s. */
export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
