// Store metrics: S3 requests by operation (a counting wrapper around the S3 backend), and the cache
// tiers and upload queue read from their own counters at scrape time.
import { Counter, Gauge, Histogram } from 'prom-client';
import { LATENCY_BUCKETS, registry } from './registry.js';

const s3Requests = new Counter({
  name: 'mic_s3_requests_total',
  help: 'Object-store requests by operation (get, put, has, stat, touch, delete, list, get_ref, cas_ref)',
  labelNames: ['operation'] as const,
  registers: [registry],
});
const s3Errors = new Counter({
  name: 'mic_s3_request_errors_total',
  help: 'Object-store requests that failed, by operation',
  labelNames: ['operation'] as const,
  registers: [registry],
});
const s3Duration = new Histogram({
  name: 'mic_s3_request_duration_seconds',
  help: 'Object-store request latency by operation',
  labelNames: ['operation'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

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
 * behave as on the backend itself). `list` counts one request per listing.
 */
export function instrumentBackend<T extends object>(backend: T): T {
  return new Proxy(backend, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const op = typeof prop === 'string' ? (OPS[prop] ?? (prop === 'list' ? 'list' : undefined)) : undefined;
      if (op === undefined) return (v as (...a: unknown[]) => unknown).bind(target);
      if (op === 'list') {
        return (...args: unknown[]) => {
          s3Requests.inc({ operation: op });
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return async (...args: unknown[]) => {
        const end = s3Duration.startTimer({ operation: op });
        s3Requests.inc({ operation: op });
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (e) {
          s3Errors.inc({ operation: op });
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

/** A counter whose value is read from a running total at scrape time. */
function mirrored(
  name: string,
  help: string,
  labelNames: string[],
  read: (set: (labels: Record<string, string>, v: number) => void) => void,
): void {
  new Counter({
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
}

mirrored('mic_cache_requests_total', 'Disk cache lookups by result (hit, miss)', ['tier', 'result'], (set) => {
  const c = source?.diskCache;
  if (!c) return;
  set({ tier: 'disk', result: 'hit' }, c.stats.hits);
  set({ tier: 'disk', result: 'miss' }, c.stats.misses);
});
mirrored('mic_cache_evictions_total', 'Entries evicted from the disk cache', ['tier'], (set) => {
  const c = source?.diskCache;
  if (c) set({ tier: 'disk' }, c.stats.evictions);
});
mirrored('mic_cache_remote_fetches_total', 'Objects fetched from the remote store after a cache miss', [], (set) => {
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
mirrored('mic_uploads_total', 'Background uploads finished', [], (set) => {
  set({}, source?.uploads()?.uploaded ?? 0);
});
mirrored('mic_upload_retries_total', 'Background upload attempts that failed and will be retried', [], (set) => {
  set({}, source?.uploads()?.retries ?? 0);
});

let damagedPacks: (() => number) | null = null;
/** Sets where the count of damaged pack files comes from (the local store: LocalBackend.damagedPacks). */
export function observeDamagedPacks(f: (() => number) | null): void {
  damagedPacks = f;
}

new Gauge({
  name: 'mic_store_damaged_packs',
  help: 'Pack files of the local store found damaged (left out whole, or with objects that failed); mic fsck names them',
  registers: [registry],
  collect() {
    this.set(damagedPacks?.() ?? 0);
  },
});
