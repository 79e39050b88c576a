// ObjectBackend over an S3 bucket (AWS S3, Ceph radosgw, MinIO), with an optional key prefix.
//
// Refs move only by conditional PUT: If-None-Match "*" to create, If-Match <etag> to replace.
// The version token of a ref is its ETag without quotes (radosgw compares If-Match against the bare
// MD5; AWS accepts it too). A ref body is unique (HeadRef carries generation + nonce), so after a
// conditional PUT whose outcome is unknown (412, 409, 5xx, network error) we read the ref back: our
// exact bytes there means we won.
//
// The SDK is loaded on first use, so the local (embedded) mode never pays for it.
import { randomBytes } from 'node:crypto';
import type { S3Client as S3ClientT, S3ClientConfig, ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import type { ObjectBackend } from './types.js';
import { validateRelKey } from './keys.js';
import { InvalidKeyError } from './errors.js';
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

/** A failed S3 request, with a message that says what to do about it. */
export class S3BackendError extends Error {
  override name = 'S3BackendError';
  constructor(
    message: string,
    /** HTTP status, or 0 when the server was not reached */
    readonly status: number,
    /** S3 error code (NoSuchBucket, AccessDenied...) or the network error code */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The endpoint does not honour If-Match / If-None-Match: a shared head cannot be kept there. */
export class ConditionalWritesUnsupportedError extends Error {
  override name = 'ConditionalWritesUnsupportedError';
}

interface ErrLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

function statusOf(e: unknown): number {
  const x = e as ErrLike;
  return x?.$metadata?.httpStatusCode ?? x?.$response?.statusCode ?? 0;
}

function codeOf(e: unknown): string {
  const x = e as ErrLike;
  return x?.Code ?? x?.code ?? x?.name ?? 'Error';
}

const CRED_CODES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'AuthorizationHeaderMalformed']);
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);

/** Strips the quotes (and a weak "W/" marker) from an ETag. */
export function bareEtag(etag: string): string {
  let t = etag.trim();
  if (t.startsWith('W/')) t = t.slice(2);
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) t = t.slice(1, -1);
  return t;
}

async function bodyToBuffer(body: unknown): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const b = body as { transformToByteArray?: () => Promise<Uint8Array> } & AsyncIterable<Uint8Array>;
  if (typeof b.transformToByteArray === 'function') {
    const arr = await b.transformToByteArray();
    return Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
  }
  const chunks: Buffer[] = [];
  for await (const c of b) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class S3Backend implements ObjectBackend {
  readonly bucket: string;
  /** "" or ends with "/" */
  readonly prefix: string;
  readonly endpoint: string | undefined;
  readonly region: string;
  private readonly opts: S3BackendOptions;
  private clients: Promise<{ sdk: Sdk; client: S3ClientT; casClient: S3ClientT; fetcher: S3FetchPool }> | null = null;
  /** How conditional PUTs ended: won at once, lost (412/409/5xx resolved by reading back), re-sent. */
  readonly casStats = { won: 0, lost: 0, wonAfterReadBack: 0, resent: 0, byStatus: {} as Record<string, number> };
  private gate: Promise<void> | null = null;
  private gateDone = false;

  constructor(opts: S3BackendOptions) {
    if (!opts.bucket) throw new Error('S3 bucket name is empty');
    this.opts = opts;
    this.bucket = opts.bucket;
    let prefix = (opts.prefix ?? '').replace(/^\/+/, '');
    if (prefix && !prefix.endsWith('/')) prefix += '/';
    if (prefix) validateRelKey(prefix.slice(0, -1));
    this.prefix = prefix;
    this.endpoint = opts.endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined);
    this.region = opts.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1');
  }

  /** Where this backend points, for messages: s3://bucket/prefix at endpoint. */
  describe(): string {
    return `s3://${this.bucket}/${this.prefix}${this.endpoint ? ` at ${this.endpoint}` : ''}`;
  }

  /** Full S3 key of a backend key. */
  s3Key(key: string): string {
    validateRelKey(key);
    return this.prefix + key;
  }

  /**
   * Resolves once the backend is usable. With verifyOnFirstUse it checks bucket access and
   * conditional writes the first time (and rejects with the reason, every time, if they fail).
   */
  ready(): Promise<void> {
    if (!this.opts.verifyOnFirstUse || this.gateDone) return Promise.resolve();
    if (!this.gate) {
      const g = (async () => {
        await checkConditionalWrites(this); // lists the bucket first: 403 / NoSuchBucket / 5xx surface here
        this.gateDone = true;
      })();
      // Concurrent callers share one probe; after a failure the next operation probes again.
      g.catch(() => {
        if (this.gate === g) this.gate = null;
      });
      this.gate = g;
    }
    return this.gate;
  }

  private async sdk(): Promise<{ sdk: Sdk; client: S3ClientT; casClient: S3ClientT; fetcher: S3FetchPool }> {
    this.clients ??= (async () => {
      const sdk = await loadSdk();
      const base: S3ClientConfig = {
        region: this.region,
        endpoint: this.endpoint,
        forcePathStyle: this.opts.forcePathStyle ?? this.endpoint !== undefined,
        credentials: this.opts.credentials,
        // Our objects verify themselves; flexible checksums (and aws-chunked trailers) trip older radosgw.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: {
          requestTimeout: this.opts.requestTimeoutMs ?? 60_000,
          connectionTimeout: this.opts.connectTimeoutMs ?? 5_000,
        },
      };
      const client = new sdk.S3Client({ ...base, maxAttempts: this.opts.maxAttempts ?? 4 });
      // A retried conditional PUT could see its own first attempt as a conflict; we resolve outcomes ourselves.
      const casClient = new sdk.S3Client({ ...base, maxAttempts: 1 });
      // object GETs (the read path) skip the SDK's middleware; credentials still come from its chain
      const fetcher = new S3FetchPool({
        bucket: this.bucket,
        region: this.region,
        endpoint: this.endpoint,
        forcePathStyle: base.forcePathStyle ?? false,
        credentials: () => client.config.credentials() as Promise<S3Credentials>,
        maxAttempts: this.opts.maxAttempts ?? 4,
        requestTimeoutMs: this.opts.requestTimeoutMs ?? 60_000,
      });
      return { sdk, client, casClient, fetcher };
    })();
    return this.clients;
  }

  readonly cacheTier = null;

  /** Unreachable (status 0) or a server error (5xx); 4xx answers are refusals. */
  isTransient(e: unknown): boolean {
    return e instanceof S3BackendError && (e.status === 0 || e.status >= 500);
  }

  /** Closes the HTTP connections. */
  async close(): Promise<void> {
    if (!this.clients) return;
    const { client, casClient, fetcher } = await this.clients;
    client.destroy();
    casClient.destroy();
    fetcher.close();
    this.clients = null;
  }

  /** Turns an SDK error into an S3BackendError whose message says what went wrong and where. */
  explain(e: unknown, op: string, key?: string): Error {
    if (e instanceof S3BackendError || e instanceof ConditionalWritesUnsupportedError || e instanceof InvalidKeyError) return e;
    const status = statusOf(e);
    const code = codeOf(e);
    const where = `${this.describe()}`;
    const what = `${op}${key !== undefined ? ` ${key}` : ''}`;
    let msg: string;
    if (code === 'CredentialsProviderError' || /Could not load credentials/i.test((e as ErrLike)?.message ?? '')) {
      msg = `S3 ${what}: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)`;
    } else if (status === 403 || CRED_CODES.has(code) || code === 'AccessDenied') {
      msg = CRED_CODES.has(code)
        ? `S3 rejected the credentials (${code}) for ${where}: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`
        : `S3 access denied (403 ${code}) to ${what} in ${where}: check the credentials and the bucket policy`;
    } else if (code === 'NoSuchBucket') {
      msg = `S3 bucket "${this.bucket}" does not exist${this.endpoint ? ` at ${this.endpoint}` : ''} (create it, or fix MIC_S3_BUCKET / --s3-bucket)`;
    } else if (status >= 500) {
      msg = `S3 server error ${status} (${code}) on ${what} in ${where}: the S3 service is failing, retry later`;
    } else if (status === 0 && (NET_CODES.has(code) || NET_CODES.has((e as ErrLike)?.name ?? ''))) {
      msg = `cannot reach S3 (${code}) for ${what} in ${where}: is the endpoint up?`;
    } else {
      msg = `S3 ${what} in ${where} failed: ${status ? `${status} ` : ''}${code}${(e as ErrLike)?.message && (e as ErrLike).message !== code ? `: ${(e as ErrLike).message}` : ''}`;
    }
    return new S3BackendError(msg, status, code, { cause: e });
  }

  // ---- ObjectBackend (each waits for ready()) ----

  async get(key: string): Promise<Buffer | null> {
    const k = this.s3Key(key);
    await this.ready();
    const { fetcher } = await this.sdk();
    try {
      return await fetcher.get(k);
    } catch (e) {
      throw this.explain(e, 'GET', k);
    }
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.ready();
    return this.doPut(key, data);
  }

  async has(key: string): Promise<boolean> {
    await this.ready();
    return this.doHas(key);
  }

  async stat(key: string): Promise<{ size: number; mtimeMs: number } | null> {
    await this.ready();
    const k = this.s3Key(key);
    const { sdk, client } = await this.sdk();
    try {
      const h = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: k }));
      return { size: h.ContentLength ?? 0, mtimeMs: h.LastModified?.getTime() ?? 0 };
    } catch (e) {
      if (statusOf(e) === 404 && codeOf(e) !== 'NoSuchBucket') return null;
      throw this.explain(e, 'HEAD', k);
    }
  }

  /** A copy onto itself with new metadata: a new LastModified, no bytes sent. */
  async touch(key: string): Promise<void> {
    await this.ready();
    const k = this.s3Key(key);
    const { sdk, client } = await this.sdk();
    try {
      await client.send(
        new sdk.CopyObjectCommand({
          Bucket: this.bucket,
          Key: k,
          CopySource: `${this.bucket}/${k.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'REPLACE',
          Metadata: { touched: new Date().toISOString() },
        }),
      );
    } catch (e) {
      throw this.explain(e, 'COPY', k);
    }
  }

  async delete(key: string): Promise<void> {
    await this.ready();
    return this.doDelete(key);
  }

  async *list(prefix: string): AsyncIterable<{ key: string; size: number; mtimeMs: number }> {
    await this.ready();
    yield* this.doList(prefix);
  }

  getRef(key: string): Promise<{ data: Buffer; version: string } | null> {
    return this.doGetRef(key, true);
  }

  async casRef(key: string, data: Buffer, expect: string | null): Promise<boolean> {
    await this.ready();
    return this.doCasRef(key, data, expect);
  }

  // ---- implementations ----

  private async getWithEtag(key: string, op: string, gated: boolean): Promise<{ data: Buffer; etag: string } | null> {
    const k = this.s3Key(key);
    if (gated) await this.ready();
    const { sdk, client } = await this.sdk();
    try {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: k }));
      const data = await bodyToBuffer(out.Body);
      return { data, etag: bareEtag(out.ETag ?? '') };
    } catch (e) {
      const code = codeOf(e);
      if (code === 'NoSuchKey' || (statusOf(e) === 404 && code !== 'NoSuchBucket')) return null;
      throw this.explain(e, op, k);
    }
  }

  private async doPut(key: string, data: Buffer): Promise<void> {
    const k = this.s3Key(key);
    const { sdk, client } = await this.sdk();
    try {
      await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: k, Body: data, ContentLength: data.length }));
    } catch (e) {
      throw this.explain(e, 'PUT', k);
    }
  }

  private async doHas(key: string): Promise<boolean> {
    const k = this.s3Key(key);
    const { sdk, client } = await this.sdk();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: k }));
      return true;
    } catch (e) {
      if (statusOf(e) === 404 && codeOf(e) !== 'NoSuchBucket') return false;
      throw this.explain(e, 'HEAD', k);
    }
  }

  private async doDelete(key: string): Promise<void> {
    const k = this.s3Key(key);
    const { sdk, client } = await this.sdk();
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: k }));
    } catch (e) {
      if (statusOf(e) === 404 && codeOf(e) !== 'NoSuchBucket') return;
      throw this.explain(e, 'DELETE', k);
    }
  }

  private async *doList(prefix: string): AsyncGenerator<{ key: string; size: number; mtimeMs: number }> {
    if (prefix.startsWith('/') || prefix.includes('\0') || prefix.split('/').some((s) => s === '..' || s === '.')) {
      throw new InvalidKeyError(prefix, 'bad list prefix');
    }
    const { sdk, client } = await this.sdk();
    let token: string | undefined;
    do {
      let out: ListObjectsV2CommandOutput;
      try {
        out = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
          }),
        );
      } catch (e) {
        throw this.explain(e, 'LIST', this.prefix + prefix);
      }
      for (const o of out.Contents ?? []) {
        if (!o.Key || !o.Key.startsWith(this.prefix)) continue;
        yield { key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, mtimeMs: o.LastModified?.getTime() ?? 0 };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  private async doGetRef(key: string, gated: boolean): Promise<{ data: Buffer; version: string } | null> {
    const got = await this.getWithEtag(key, 'GET ref', gated);
    if (!got) return null;
    if (!got.etag) throw new S3BackendError(`S3 returned no ETag for ref ${this.s3Key(key)} in ${this.describe()}`, 200, 'NoETag');
    return { data: got.data, version: got.etag };
  }

  private async doCasRef(key: string, data: Buffer, expect: string | null): Promise<boolean> {
    const k = this.s3Key(key);
    const retries = this.opts.casRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      let err: unknown;
      try {
        await this.conditionalPut(k, data, expect);
        this.casStats.won++;
        return true;
      } catch (e) {
        err = e;
      }
      const status = statusOf(err);
      const code = codeOf(err);
      const tag = status ? String(status) : code;
      this.casStats.byStatus[tag] = (this.casStats.byStatus[tag] ?? 0) + 1;
      // If-Match on a missing key: AWS answers 404 NoSuchKey. The ref is not at `expect`, so we lost.
      if (expect !== null && status === 404 && code !== 'NoSuchBucket') {
        this.casStats.lost++;
        return false;
      }
      const unknownOutcome = status === 412 || status === 409 || status >= 500 || status === 0 || code === 'PreconditionFailed';
      if (!unknownOutcome || code === 'NoSuchBucket' || code === 'CredentialsProviderError') throw this.explain(err, 'conditional PUT', k);
      // Lost, or unknown: the ref's current body tells. Ours (unique bytes) => we won.
      const now = await this.doGetRef(key, false);
      if (now && now.data.equals(data)) {
        this.casStats.wonAfterReadBack++;
        return true;
      }
      const unchanged = expect === null ? now === null : now !== null && now.version === bareEtag(expect);
      if (!unchanged) {
        this.casStats.lost++;
        return false;
      }
      // Nobody's write landed. 412 with an unchanged ref means the condition itself is not understood.
      if (status === 412 || code === 'PreconditionFailed' || attempt >= retries) {
        throw new S3BackendError(
          `conditional PUT of ${k} in ${this.describe()} keeps failing (${status ? `${status} ` : ''}${code}) although the ref did not change`,
          status,
          code,
          { cause: err },
        );
      }
      this.casStats.resent++;
      await sleep(Math.min(1000, 25 * 2 ** attempt) * (0.5 + Math.random()));
    }
  }

  /** One conditional PUT, no SDK retries; throws the raw SDK error. */
  private async conditionalPut(s3Key: string, data: Buffer, expect: string | null): Promise<void> {
    const { sdk, casClient } = await this.sdk();
    const cond = expect === null ? { IfNoneMatch: '*' } : { IfMatch: this.opts.quoteIfMatch ? `"${bareEtag(expect)}"` : bareEtag(expect) };
    await casClient.send(
      new sdk.PutObjectCommand({
        Bucket: this.bucket,
        Key: s3Key,
        Body: data,
        ContentLength: data.length,
        ...cond,
      }),
    );
  }

  /** For the probes: an uncached ListObjectsV2 of at most one key, to surface bucket and credential errors. */
  async listOne(): Promise<void> {
    const { sdk, client } = await this.sdk();
    try {
      await client.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 }));
    } catch (e) {
      throw this.explain(e, 'LIST', this.prefix || '/');
    }
  }

  /**
   * The same bucket without the first-use verification, for the probes that implement it.
   * Shares the connections.
   */
  unverified(): ObjectBackend {
    const self = this;
    return {
      get: (k) => self.getWithEtag(k, 'GET', false).then((g) => (g ? g.data : null)),
      put: (k, d) => self.doPut(k, d),
      has: (k) => self.doHas(k),
      stat: (k) => self.stat(k),
      touch: (k) => self.touch(k),
      isTransient: (e) => self.isTransient(e),
      cacheTier: null,
      delete: (k) => self.doDelete(k),
      list: (p) => self.doList(p),
      getRef: (k) => self.doGetRef(k, false),
      casRef: (k, d, e) => self.doCasRef(k, d, e),
    };
  }
}

/** Fails with a one-line reason (403, NoSuchBucket, 5xx, unreachable) unless the bucket can be listed. */
export async function checkBucketAccess(backend: S3Backend): Promise<void> {
  await backend.listOne();
}

/**
 * Proves that the endpoint honours conditional writes, on a probe key under "<prefix>probe/":
 * If-None-Match "*" creates once and then fails; If-Match with a wrong ETag fails; with the right
 * one it succeeds. Throws ConditionalWritesUnsupportedError (one line) when the endpoint ignores them.
 */
export async function checkConditionalWrites(backend: S3Backend): Promise<void> {
  await backend.listOne();
  const key = `probe/conditional-writes-${process.pid}-${randomBytes(6).toString('hex')}`;
  const body = (n: number) => Buffer.from(JSON.stringify({ probe: n, nonce: randomBytes(8).toString('hex') }));
  const refuse = (what: string) =>
    new ConditionalWritesUnsupportedError(
      `S3 endpoint ${backend.describe()} ignores ${what}: refusing to keep a shared head there (conditional writes are required)`,
    );
  const raw0 = backend.unverified();
  const raw = {
    cas: (data: Buffer, expect: string | null) => raw0.casRef(key, data, expect),
    getRef: () => raw0.getRef(key),
    del: () => raw0.delete(key),
  };
  try {
    if (!(await raw.cas(body(1), null))) throw refuse('If-None-Match (a fresh probe key was reported as existing)');
    if (await raw.cas(body(2), null)) throw refuse('If-None-Match: * (it overwrote an existing object)');
    const cur = await raw.getRef();
    if (!cur) throw new ConditionalWritesUnsupportedError(`S3 endpoint ${backend.describe()} lost the probe object ${key}`);
    const wrong = cur.version === '0'.repeat(32) ? 'f'.repeat(32) : '0'.repeat(32);
    if (await raw.cas(body(3), wrong)) throw refuse('If-Match (it accepted a wrong ETag)');
    if (!(await raw.cas(body(4), cur.version))) {
      throw new ConditionalWritesUnsupportedError(
        `S3 endpoint ${backend.describe()} rejects If-Match with the current ETag: cannot move a shared head there`,
      );
    }
  } catch (e) {
    if (e instanceof S3BackendError && /keeps failing/.test(e.message)) {
      throw new ConditionalWritesUnsupportedError(`S3 endpoint ${backend.describe()} does not handle conditional writes: ${e.message}`);
    }
    throw e;
  } finally {
    await raw.del().catch(() => {});
  }
}
