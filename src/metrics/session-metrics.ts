// Session metrics: sessions by state (read at scrape time), landings and their duration, gc runs.
// Defined when metrics are turned on (registry.ts); until then landings and gc runs count into nothing.
import type { Counter, Histogram } from 'prom-client';
import { onMetrics } from './registry.js';

let m: {
  landings: Counter<'result'>;
  landDuration: Histogram<'result'>;
  conflicts: Counter;
  gcRuns: Counter<'mode'>;
  gcFreed: Counter;
  gcDeleted: Counter;
} | null = null;

/** Starts timing a landing; call the result with its outcome. */
export function landTimer(): (result: 'landed' | 'conflict' | 'error', conflictCount?: number) => void {
  const on = m;
  const end = on?.landDuration.startTimer();
  return (result, conflictCount = 0) => {
    sessionsChanged();
    if (!on || !end) return;
    end({ result });
    on.landings.inc({ result });
    if (conflictCount > 0) on.conflicts.inc(conflictCount);
  };
}

export function gcDone(run: { dry_run: boolean; totals: { deleted: { objects: number; bytes: number } } }): void {
  if (!m) return;
  m.gcRuns.inc({ mode: run.dry_run ? 'dry_run' : 'delete' });
  if (run.dry_run) return;
  m.gcFreed.inc(run.totals.deleted.bytes);
  m.gcDeleted.inc(run.totals.deleted.objects);
}

let sessionStates: (() => Promise<string[]>) | null = null;
/** Sets how the sessions gauge finds every session's state at scrape time (null: none). */
export function observeSessions(f: (() => Promise<string[]>) | null): void {
  sessionStates = f;
  counted = null;
}

/**
 * Counting reads every session record (from S3, with an S3 store), so a count serves the scrapes of
 * the next SESSIONS_TTL_MS, unless a session started or landed here meanwhile. Other state changes
 * (and other daemons on the bucket) show within that time.
 */
const SESSIONS_TTL_MS = 15_000;
let counted: { at: number; counts: Map<string, number> } | null = null;
export function sessionsChanged(): void {
  counted = null;
}

onMetrics(({ Counter, Gauge, Histogram }, registry) => {
  m = {
    landings: new Counter({
      name: 'mic_landings_total',
      help: 'Landing attempts by result: landed, conflict (three-way merge found conflicts) or error',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    landDuration: new Histogram({
      name: 'mic_land_duration_seconds',
      help: 'Time to land a session (seal, merge, compare-and-swap of the head), by result',
      labelNames: ['result'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    conflicts: new Counter({
      name: 'mic_land_conflicts_total',
      help: 'Conflicting paths reported by landings',
      registers: [registry],
    }),
    gcRuns: new Counter({
      name: 'mic_gc_runs_total',
      help: 'Garbage collections run in this process, by mode (delete, dry_run)',
      labelNames: ['mode'] as const,
      registers: [registry],
    }),
    gcFreed: new Counter({
      name: 'mic_gc_freed_bytes_total',
      help: 'Bytes of unreferenced objects deleted by gc',
      registers: [registry],
    }),
    gcDeleted: new Counter({ name: 'mic_gc_deleted_objects_total', help: 'Unreferenced objects deleted by gc', registers: [registry] }),
  };
  new Gauge({
    name: 'mic_sessions',
    help: 'Sessions by state (status)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!sessionStates) return;
      if (counted === null || Date.now() - counted.at > SESSIONS_TTL_MS) {
        const counts = new Map<string, number>();
        for (const s of await sessionStates()) counts.set(s, (counts.get(s) ?? 0) + 1);
        counted = { at: Date.now(), counts };
      }
      for (const [state, n] of counted.counts) this.set({ state }, n);
    },
  });
});
