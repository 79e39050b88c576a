// Chooses the object backend from configuration:
//   no bucket          -> LocalBackend at <dataDir>/objects (the embedded default)
//   MIC_S3_BUCKET set  -> S3 (bucket, optional MIC_S3_PREFIX, AWS_ENDPOINT_URL, AWS_REGION, the standard
//                         credential chain) behind a disk cache at <dataDir>/cache of MIC_CACHE_BYTES, with
//                         immutable objects uploaded in the background from <dataDir>/outbox (upload-queue.ts).
// Options given explicitly (e.g. from --s3-bucket / --s3-endpoint) win over the environment.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { pinoLazy } from '../util/pino-lazy.js';
import type { ObjectBackend } from './object-backend.js';
import { LocalBackend } from './local-backend.js';
import { S3Backend } from './s3-backend.js';
import { DiskCache } from './disk-cache.js';
import { TieredBackend } from './tiered-backend.js';

export const DEFAULT_CACHE_BYTES = 4 * 1024 ** 3;

export interface BackendOptions {
  /** S3 bucket (env MIC_S3_BUCKET); none selects the local backend. */
  s3Bucket?: string;
  /** Key prefix inside the bucket (env MIC_S3_PREFIX). */
  s3Prefix?: string;
  /** S3 endpoint URL (env AWS_ENDPOINT_URL); path-style addressing is used with it. */
  s3Endpoint?: string;
  /** Region (env AWS_REGION, default us-east-1). */
  s3Region?: string;
  /** Disk cache directory (default <dataDir>/cache). */
  cacheDir?: string;
  /** Disk cache bound in bytes (env MIC_CACHE_BYTES, e.g. "10G"; default 4 GiB; 0 disables the cache). */
  cacheBytes?: number | string;
  /**
   * Check bucket access and conditional writes before the first S3 operation (default true);
   * every operation then fails with the one-line reason if the check fails.
   */
  verify?: boolean;
  /** Upload outbox directory (default <dataDir>/outbox); null: synchronous uploads. */
  outboxDir?: string | null;
  /** Logger for upload failures (default: warnings to stderr). */
  log?: Logger;
  /** How long a write that must follow the queued uploads (the head ref, a document) waits for them before
   *  failing (UploadsPendingError; default 5 min). */
  uploadWaitMs?: number;
  /** Where to read the defaults (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Wraps the S3 backend (the daemon counts and times its requests: metrics/store-metrics.ts); none:
   *  the store knows nothing of metrics, and a CLI command loads none. */
  instrument?: <T extends object>(backend: T) => T;
}

/** "4294967296", "512M", "10G", "1.5GiB", "2T" -> bytes. */
export function parseBytes(v: string | number): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new Error(`not a byte count: ${v}`);
    return Math.floor(v);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(v);
  if (!m) throw new Error(`not a byte count: ${JSON.stringify(v)} (use e.g. 4294967296, 512M, 10G)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}

/** The backend the configuration selects (see the header). Synchronous: S3 and the cache start lazily. */
export function openBackend(dataDir: string, opts: BackendOptions = {}): ObjectBackend {
  const env = opts.env ?? process.env;
  const bucket = opts.s3Bucket ?? (env.MIC_S3_BUCKET || undefined);
  if (!bucket) return new LocalBackend(join(dataDir, 'objects'), { log: opts.log });
  const instrument = opts.instrument ?? (<T>(b: T) => b);
  const s3 = instrument(
    new S3Backend({
      bucket,
      prefix: opts.s3Prefix ?? env.MIC_S3_PREFIX ?? '',
      endpoint: opts.s3Endpoint ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined),
      region: opts.s3Region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1'),
      verifyOnFirstUse: opts.verify ?? true,
    }),
  );
  const cacheBytes = parseBytes(opts.cacheBytes ?? (env.MIC_CACHE_BYTES || DEFAULT_CACHE_BYTES));
  if (cacheBytes === 0) return s3;
  const outboxDir = opts.outboxDir === undefined ? join(dataDir, 'outbox') : (opts.outboxDir ?? undefined);
  return new TieredBackend(s3, new DiskCache(opts.cacheDir ?? join(dataDir, 'cache'), { maxBytes: cacheBytes }), {
    outboxDir,
    ...(opts.uploadWaitMs ? { upload: { barrierTimeoutMs: opts.uploadWaitMs } } : {}),
    log: opts.log ?? pinoLazy()({ level: 'warn', base: { name: 'mic-fs' } }, pinoLazy().destination(2)),
  });
}

/**
 * Start-up checks of a backend from openBackend: for S3, bucket access (403, missing bucket, 5xx,
 * unreachable) and conditional writes; rejects with a one-line reason. No-op for the local backend.
 */
export async function checkBackend(backend: ObjectBackend): Promise<void> {
  const b = backend as ObjectBackend & { ready?: () => Promise<void> };
  if (typeof b.ready === 'function') await b.ready();
}
