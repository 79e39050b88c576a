// The clients behind S3Backend (s3-backend.ts): the SDK (loaded on first use, so the local mode never pays
// for it) for ordinary calls, a second SDK client without retries for conditional PUTs, and the fetch pool
// (s3-fetch-pool.ts) for object GETs; and the backend's options.
import type { S3Client as S3ClientT, S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3Credentials } from './s3-fetch.js';
import { S3FetchPool } from './s3-fetch-pool.js';

type Sdk = typeof import('@aws-sdk/client-s3');
let sdkPromise: Promise<Sdk> | null = null;
function loadSdk(): Promise<Sdk> {
  // mic-fs supports Node 20 (package.json engines); keep the SDK's multi-line notice about it off stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  sdkPromise ??= import('@aws-sdk/client-s3');
  return sdkPromise;
}

export interface S3BackendOptions {
  bucket: string;
  /** Key prefix inside the bucket, e.g. "team-a" or "team-a/" (a trailing "/" is added). */
  prefix?: string;
  /** Endpoint URL for Ceph, MinIO...; default AWS_ENDPOINT_URL, else AWS's own. */
  endpoint?: string;
  /** Default AWS_REGION, AWS_DEFAULT_REGION, else us-east-1. */
  region?: string;
  /** Path-style addressing (default: true when an endpoint is given). */
  forcePathStyle?: boolean;
  /** Explicit credentials; default: the SDK's standard credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** SDK attempts for ordinary requests (default 4). Conditional PUTs are never retried by the SDK. */
  maxAttempts?: number;
  /** Per-request timeout in ms (default 60 000) and connect timeout (default 5 000). */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Send If-Match with the ETag in quotes (default false: radosgw needs it bare). */
  quoteIfMatch?: boolean;
  /**
   * Before the first operation, check bucket access and that the endpoint honours conditional
   * writes (checkConditionalWrites); every operation fails with the reason if it does not.
   */
  verifyOnFirstUse?: boolean;
  /** How many times casRef re-sends a conditional PUT whose outcome was unknown and did not land. */
  casRetries?: number;
}

export interface S3Clients {
  sdk: Sdk;
  client: S3ClientT;
  casClient: S3ClientT;
  fetcher: S3FetchPool;
}

/** The clients of a backend at where (its bucket, region and endpoint as resolved from opts and the environment). */
export async function openS3Clients(
  opts: S3BackendOptions,
  where: { bucket: string; region: string; endpoint: string | undefined },
): Promise<S3Clients> {
  const sdk = await loadSdk();
  const base: S3ClientConfig = {
    region: where.region,
    endpoint: where.endpoint,
    forcePathStyle: opts.forcePathStyle ?? where.endpoint !== undefined,
    credentials: opts.credentials,
    // Our objects verify themselves; flexible checksums (and aws-chunked trailers) trip older radosgw.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      requestTimeout: opts.requestTimeoutMs ?? 60_000,
      connectionTimeout: opts.connectTimeoutMs ?? 5_000,
    },
  };
  const client = new sdk.S3Client({ ...base, maxAttempts: opts.maxAttempts ?? 4 });
  // A retried conditional PUT could see its own first attempt as a conflict; we resolve outcomes ourselves.
  const casClient = new sdk.S3Client({ ...base, maxAttempts: 1 });
  // object GETs (the read path) skip the SDK's middleware; credentials still come from its chain
  const fetcher = new S3FetchPool({
    bucket: where.bucket,
    region: where.region,
    endpoint: where.endpoint,
    forcePathStyle: base.forcePathStyle ?? false,
    credentials: () => client.config.credentials() as Promise<S3Credentials>,
    maxAttempts: opts.maxAttempts ?? 4,
    requestTimeoutMs: opts.requestTimeoutMs ?? 60_000,
  });
  return { sdk, client, casClient, fetcher };
}
