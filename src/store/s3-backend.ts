// ObjectBackend over an S3 bucket (AWS S3, Ceph radosgw, MinIO), with an optional key prefix.
//
// Refs move only by conditional PUT (s3-cas.ts); the version token of a ref is its ETag without quotes
// (radosgw compares If-Match against the bare MD5; AWS accepts it too). Errors: s3-errors.ts; the probes
// of bucket access and conditional writes: s3-checks.ts. Object GETs go through s3-fetch-pool.ts; the
// clients and the options: s3-clients.ts (the SDK is loaded on first use, so the local mode never pays for it).
import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import type { CasOutcome, ListOptions, ObjectBackend } from './object-backend.js';
import { validateRelKey } from './keys.js';
import { InvalidKeyError } from './errors.js';
import type { CachePlace } from './cache-file-io.js';
import type { Fetched } from './s3-fetch-pool.js';
import { openS3Clients, type S3BackendOptions, type S3Clients } from './s3-clients.js';
import { bareEtag, bodyToBuffer, codeOf, explainS3Error, S3BackendError, statusOf } from './s3-errors.js';
import { casS3Ref, type CasStats } from './s3-cas.js';
import { checkConditionalWrites } from './s3-checks.js';

export { S3BackendError, ConditionalWritesUnsupportedError, bareEtag } from './s3-errors.js';
export { checkBucketAccess, checkConditionalWrites } from './s3-checks.js';
export type { S3BackendOptions } from './s3-clients.js';

export class S3Backend implements ObjectBackend {
  readonly bucket: string;
  /** "" or ends with "/" */
  readonly prefix: string;
  readonly endpoint: string | undefined;
  readonly region: string;
  private readonly opts: S3BackendOptions;
  private clients: Promise<S3Clients> | null = null;
  /** How conditional PUTs ended: won at once, lost (412/409/5xx resolved by reading back), re-sent. */
  readonly casStats: CasStats = { won: 0, lost: 0, wonAfterReadBack: 0, resent: 0, byStatus: {} };
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

  private async sdk(): Promise<S3Clients> {
    this.clients ??= openS3Clients(this.opts, { bucket: this.bucket, region: this.region, endpoint: this.endpoint });
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
    this.clients = null;
    await fetcher.close();
  }

  /** Turns an SDK error into an S3BackendError whose message says what went wrong and where (s3-errors.ts). */
  explain(e: unknown, op: string, key?: string): Error {
    return explainS3Error(e, op, key, this);
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

  /** get, with the disk cache's copy of a content-addressed object that checks out appended to a pack in
   *  place by the fetch worker (TieredBackend; see s3-fetch-pool.ts). */
  async getCaching(key: string, place: CachePlace): Promise<Fetched> {
    const k = this.s3Key(key);
    await this.ready();
    const { fetcher } = await this.sdk();
    try {
      return await fetcher.getCaching(k, place, key);
    } catch (e) {
      throw this.explain(e, 'GET', k);
    }
  }

  /** A cached copy of key (size bytes at offset of a pack file) read and checked against its hash by the fetch
   *  worker (null: not there). */
  async readCached(key: string, file: string, offset: number, size: number): Promise<Buffer | null> {
    const { fetcher } = await this.sdk();
    return fetcher.readCached(key, file, offset, size);
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

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<{ key: string; size: number; mtimeMs: number }> {
    await this.ready();
    yield* this.doList(prefix, opts);
  }

  getRef(key: string): Promise<{ data: Buffer; version: string } | null> {
    return this.doGetRef(key, true);
  }

  async casRef(key: string, data: Buffer, expect: string | null): Promise<boolean> {
    await this.ready();
    return (await this.doCasRef(key, data, expect)).won;
  }

  /** casRef, with the ETag S3 gave our write (the version token getRef would read back). */
  async casRefVersion(key: string, data: Buffer, expect: string | null): Promise<CasOutcome> {
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

  /** opts.startAfter is the backend-relative cursor; S3's StartAfter (ListObjectsV2) means the same thing,
   *  "only keys after this one" in UTF-8 byte order, but over whole keys, so it gets this.prefix too. */
  private async *doList(prefix: string, opts: ListOptions = {}): AsyncGenerator<{ key: string; size: number; mtimeMs: number }> {
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
            StartAfter: opts.startAfter ? this.prefix + opts.startAfter : undefined,
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

  private doCasRef(key: string, data: Buffer, expect: string | null): Promise<CasOutcome> {
    const k = this.s3Key(key);
    const target = {
      s3Key: k,
      conditionalPut: (d: Buffer, ex: string | null) => this.conditionalPut(k, d, ex),
      getRef: () => this.doGetRef(key, false),
      explain: (e: unknown, op: string, key2: string) => this.explain(e, op, key2),
      describe: () => this.describe(),
    };
    return casS3Ref(target, data, expect, this.opts.casRetries ?? 5, this.casStats);
  }

  /** One conditional PUT, no SDK retries; throws the raw SDK error. */
  private async conditionalPut(s3Key: string, data: Buffer, expect: string | null): Promise<string | undefined> {
    const { sdk, casClient } = await this.sdk();
    const cond = expect === null ? { IfNoneMatch: '*' } : { IfMatch: this.opts.quoteIfMatch ? `"${bareEtag(expect)}"` : bareEtag(expect) };
    const out = await casClient.send(
      new sdk.PutObjectCommand({
        Bucket: this.bucket,
        Key: s3Key,
        Body: data,
        ContentLength: data.length,
        ...cond,
      }),
    );
    return out.ETag;
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
      list: (p, o) => self.doList(p, o),
      getRef: (k) => self.doGetRef(k, false),
      casRef: (k, d, e) => self.doCasRef(k, d, e).then((r) => r.won),
    };
  }
}
