// Store metrics: S3 requests by operation (a counting wrapper around the S3 backend, which the daemon
// has openBackend put in: BackendOptions.instrument), and the cache tiers and upload queue read from
// their own counters at scrape time. Defined when metrics are turned on (registry.ts).
import type { Counter, Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS, enableMetrics, onMetrics, type PromClient } from './registry.js';

let s3: { requests: Counter<'operation'>; errors: Counter<'operation'>; duration: Histogram<'operation'> } | null = null;

const OPS: Record<string, string> = {
  get: 'get',
  getCaching: 'get', // S3Backend: a GET whose disk-cache copy the fetch worker writes (readCached is no request)
  put: 'put',
  has: 'has',
  stat: 'stat',
  touch: 'touch',
  delete: 'delete',
  getRef: 'get_ref',
  casRef: 'cas_ref',
  casRefVersion: 'cas_ref',
};

/**
 * The backend with every request counted and timed (a Proxy: instanceof and every other member
 * behave as on the backend itself). `list` counts one request per listing. Turns metrics on.
 */
export function instrumentBackend<T extends object>(backend: T): T {
  enableMetrics();
  const { requests, errors, duration } = s3!;
  return new Proxy(backend, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const op = typeof prop === 'string' ? (OPS[prop] ?? (prop === 'list' ? 'list' : undefined)) : undefined;
      if (op === undefined) return (v as (...a: unknown[]) => unknown).bind(target);
      if (op === 'list') {
        return (...args: unknown[]) => {
          requests.inc({ operation: op });
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return async (...args: unknown[]) => {
        const end = duration.startTimer({ operation: op });
        requests.inc({ operation: op });
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (e) {
          errors.inc({ operation: op });
          throw e;
        } finally {
          end();
        }
      };
    },
  });
}

/** What the store's tiers report (TieredBackend, DiskCache and UploadQueue counters). */
export interface StoreStatsSource {
  diskCache: { stats: { hits: number; misses: number; evictions: number }; bytes: number; count: number } | null;
  remoteGets(): number;
  uploads(): { queued: number; oldestPendingMs: number; uploaded?: number; retries?: number } | null;
}

let source: StoreStatsSource | null = null;
/** Sets where the cache and upload metrics come from (the daemon's backend); null clears it. */
export function observeStore(s: StoreStatsSource | null): void {
  source = s;
}

let damagedPacks: (() => number) | null = null;
/** Sets where the count of damaged pack files comes from (the local store: LocalBackend.neededDamage). */
export function observeDamagedPacks(f: (() => number) | null): void {
  damagedPacks = f;
}

onMetrics((prom, registry) => {
  const { Counter, Gauge, Histogram } = prom;
  s3 = {
    requests: new Counter({
      name: 'mic_s3_requests_total',
      help: 'Object-store requests by operation (get, put, has, stat, touch, delete, list, get_ref, cas_ref)',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'mic_s3_request_errors_total',
      help: 'Object-store requests that failed, by operation',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'mic_s3_request_duration_seconds',
      help: 'Object-store request latency by operation',
      labelNames: ['operation'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
  const mirror = mirrored(prom, registry);
  mirror('mic_cache_requests_total', 'Disk cache lookups by result (hit, miss)', ['tier', 'result'], (set) => {
    const c = source?.diskCache;
    if (!c) return;
    set({ tier: 'disk', result: 'hit' }, c.stats.hits);
    set({ tier: 'disk', result: 'miss' }, c.stats.misses);
  });
  mirror('mic_cache_evictions_total', 'Entries evicted from the disk cache', ['tier'], (set) => {
    const c = source?.diskCache;
    if (c) set({ tier: 'disk' }, c.stats.evictions);
  });
  mirror('mic_cache_remote_fetches_total', 'Objects fetched from the remote store after a cache miss', [], (set) => {
    if (source) set({}, source.remoteGets());
  });
  new Gauge({
    name: 'mic_cache_bytes',
    help: 'Bytes held by the disk cache',
    labelNames: ['tier'],
    registers: [registry],
    collect() {
      const c = source?.diskCache;
      if (c) this.set({ tier: 'disk' }, c.bytes);
    },
  });
  new Gauge({
    name: 'mic_cache_entries',
    help: 'Objects held by the disk cache',
    labelNames: ['tier'],
    registers: [registry],
    collect() {
      const c = source?.diskCache;
      if (c) this.set({ tier: 'disk' }, c.count);
    },
  });
  new Gauge({
    name: 'mic_upload_queue_depth',
    help: 'Objects waiting in the outbox for their upload to the object store',
    registers: [registry],
    collect() {
      this.set(source?.uploads()?.queued ?? 0);
    },
  });
  new Gauge({
    name: 'mic_upload_queue_oldest_age_seconds',
    help: 'Age of the oldest object waiting for its upload (0 when none)',
    registers: [registry],
    collect() {
      this.set((source?.uploads()?.oldestPendingMs ?? 0) / 1000);
    },
  });
  mirror('mic_uploads_total', 'Background uploads finished', [], (set) => {
    set({}, source?.uploads()?.uploaded ?? 0);
  });
  mirror('mic_upload_retries_total', 'Background upload attempts that failed and will be retried', [], (set) => {
    set({}, source?.uploads()?.retries ?? 0);
  });
  new Gauge({
    name: 'mic_store_damaged_packs',
    help: 'Pack files of the local store whose damage affects objects the store still needs (left out whole, or with failed objects no other copy serves and not deleted since); mic fsck names them',
    registers: [registry],
    collect() {
      this.set(damagedPacks?.() ?? 0);
    },
  });
});

/** Defines counters whose values are read from a running total at scrape time. */
function mirrored(prom: PromClient, registry: Registry) {
  return (
    name: string,
    help: string,
    labelNames: string[],
    read: (set: (labels: Record<string, string>, v: number) => void) => void,
  ): void => {
    new prom.Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        read((labels, v) => {
          if (v > 0) this.inc(labels, v);
        });
      },
    });
  };
}
