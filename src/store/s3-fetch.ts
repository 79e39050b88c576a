// A lean S3 GET for the read path: one SigV4-signed request on a keep-alive agent, the body read straight
// into a buffer of its Content-Length. Measured on radosgw (README, "Packages"): the SDK's middleware and
// body collection cost more CPU per 1 MiB chunk than the transfer itself, so chunk reads come here while
// every other S3 call (conditional PUTs, listings, HEAD, refs) stays with @aws-sdk/client-s3.
// Signing follows the AWS Signature Version 4 documentation for a request without a payload.
import http from 'node:http';
import https from 'node:https';
import { createHash, createHmac } from 'node:crypto';
import { RawHttpGetter } from './raw-http-get.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3FetchOptions {
  bucket: string;
  region: string;
  /** e.g. http://127.0.0.1:7480; none: AWS's regional endpoint */
  endpoint?: string;
  forcePathStyle: boolean;
  credentials: () => Promise<S3Credentials>;
  /** attempts for 5xx, 429 and network errors (default 4) */
  maxAttempts?: number;
  /** a response that stalls this long fails (default 60 000 ms) */
  requestTimeoutMs?: number;
  /** sockets kept per endpoint (default 64) */
  maxSockets?: number;
}

/** What an S3 error looks like to S3Backend.explain (the same fields as an SDK error). */
export class S3FetchError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(
    readonly Code: string,
    status: number,
    message: string,
  ) {
    super(message);
    this.name = Code;
    this.$metadata = { httpStatusCode: status };
  }
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const RETRY_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'TimeoutError', 'EAI_AGAIN']);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** RFC 3986 percent-encoding of one path segment, as SigV4 wants it (S3: not double-encoded). */
function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export class S3Fetcher {
  private readonly base: URL;
  /** path prefix before the key: "/<bucket>/" (path style) or "/" (virtual-hosted) */
  private readonly keyPath: string;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly raw: RawHttpGetter | null;
  private signingKey: { day: string; secret: string; key: Buffer } | null = null;

  constructor(private readonly o: S3FetchOptions) {
    const pathStyle = o.forcePathStyle || o.bucket.includes('.');
    const base = o.endpoint ?? `https://s3.${o.region}.amazonaws.com`;
    this.base = new URL(base);
    if (!pathStyle) this.base.hostname = `${o.bucket}.${this.base.hostname}`;
    const root = this.base.pathname.replace(/\/+$/, '');
    this.keyPath = `${root}/${pathStyle ? `${encodeSegment(o.bucket)}/` : ''}`;
    const tls = this.base.protocol === 'https:';
    const agentOpts = { keepAlive: true, maxSockets: o.maxSockets ?? 64 };
    this.agent = tls ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
    this.request = tls ? https.request : http.request;
    // plain http: bodies read in place (raw-http-get.ts); TLS goes through node:https
    this.raw = tls ? null : new RawHttpGetter(this.base.hostname, Number(this.base.port) || 80, agentOpts.maxSockets);
  }

  /** The object's bytes, or null when it does not exist (NoSuchBucket and other errors throw S3FetchError). */
  async get(s3Key: string): Promise<Buffer | null> {
    const attempts = this.o.maxAttempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(s3Key);
      } catch (e) {
        const status = (e as S3FetchError).$metadata?.httpStatusCode ?? 0;
        const code = (e as { code?: string }).code ?? (e as Error).name;
        const retry = status >= 500 || status === 429 || (status === 0 && RETRY_CODES.has(code));
        if (!retry || attempt >= attempts) throw e;
        await sleep(Math.min(2000, 100 * 2 ** attempt) * Math.random()); // full jitter, as the SDK does
      }
    }
  }

  close(): void {
    this.raw?.close();
    this.agent.destroy();
  }

  private async once(s3Key: string): Promise<Buffer | null> {
    const path = this.keyPath + s3Key.split('/').map(encodeSegment).join('/');
    const headers = this.sign(path, await this.o.credentials());
    if (this.raw) {
      const r = await this.raw.get(path, headers, this.o.requestTimeoutMs ?? 60_000);
      if (r.status === 200) return r.body;
      const err = errorOf(r.status, r.body.subarray(0, 65536).toString('utf8'));
      if (err.Code === 'NoSuchKey') return null;
      throw err;
    }
    return new Promise<Buffer | null>((resolve, reject) => {
      const req = this.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port || undefined,
          method: 'GET',
          path,
          headers,
          agent: this.agent,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status !== 200) {
            readError(res, status).then((err) => (err.Code === 'NoSuchKey' ? resolve(null) : reject(err)), reject);
            return;
          }
          const declared = Number(res.headers['content-length']);
          const sized = Number.isSafeInteger(declared) && declared >= 0;
          const out = sized ? Buffer.allocUnsafeSlow(declared) : null; // its own memory: transferable
          const parts: Buffer[] = [];
          let got = 0;
          res.on('data', (c: Buffer) => {
            if (out) {
              if (got + c.length > out.length) {
                res.destroy(new Error('body longer than its Content-Length'));
                return;
              }
              c.copy(out, got);
            } else parts.push(c);
            got += c.length;
          });
          res.on('end', () => {
            if (!out) resolve(Buffer.concat(parts, got));
            else if (got === out.length) resolve(out);
            else reject(Object.assign(new Error('body shorter than its Content-Length'), { code: 'ECONNRESET' }));
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(this.o.requestTimeoutMs ?? 60_000, () => {
        req.destroy(Object.assign(new Error(`no answer from S3 within ${this.o.requestTimeoutMs ?? 60_000} ms`), { code: 'TimeoutError' }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** SigV4 headers of a GET without payload or query. */
  private sign(path: string, cred: S3Credentials): Record<string, string> {
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    const host = this.base.host;
    const headers: Record<string, string> = { host, 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': amzDate };
    if (cred.sessionToken) headers['x-amz-security-token'] = cred.sessionToken;
    const names = Object.keys(headers).sort();
    const canonical = ['GET', path, '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), EMPTY_SHA256].join('\n');
    const scope = `${day}/${this.o.region}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
    const signature = createHmac('sha256', this.key(day, cred.secretAccessKey)).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${cred.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    return headers;
  }

  /** The day's signing key (kDate → kRegion → kService → kSigning), kept while day and secret last. */
  private key(day: string, secret: string): Buffer {
    const k = this.signingKey;
    if (k && k.day === day && k.secret === secret) return k.key;
    const hmac = (key: string | Buffer, s: string) => createHmac('sha256', key).update(s).digest();
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), this.o.region), 's3'), 'aws4_request');
    this.signingKey = { day, secret, key };
    return key;
  }
}

/** Reads a small error body (at most 64 KiB) and names the S3 error code in it. */
function readError(res: http.IncomingMessage, status: number): Promise<S3FetchError> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (size < 65536) {
        parts.push(c);
        size += c.length;
      }
    });
    const done = () => resolve(errorOf(status, Buffer.concat(parts).toString('utf8')));
    res.on('end', done);
    res.on('error', done);
  });
}

/** The S3 error an error answer's status and XML body name. */
function errorOf(status: number, body: string): S3FetchError {
  const code =
    /<Code>([^<]{1,100})<\/Code>/.exec(body)?.[1] ??
    ({ 301: 'PermanentRedirect', 403: 'AccessDenied', 404: 'NoSuchKey' } as Record<number, string>)[status] ??
    `HTTP${status}`;
  const message = /<Message>([^<]{1,500})<\/Message>/.exec(body)?.[1] ?? code;
  return new S3FetchError(code, status, message);
}
