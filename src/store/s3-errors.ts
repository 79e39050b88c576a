// Errors of the S3 backend (s3-backend.ts) and how SDK errors become them: a message that says what went
// wrong, where, and what to do about it. Also the small helpers on SDK responses (status, code, ETag, body).
import { InvalidKeyError } from './errors.js';

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

export function statusOf(e: unknown): number {
  const x = e as ErrLike;
  return x?.$metadata?.httpStatusCode ?? x?.$response?.statusCode ?? 0;
}

export function codeOf(e: unknown): string {
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

/** The whole body of an SDK response. */
export async function bodyToBuffer(body: unknown): Promise<Buffer> {
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

/** Turns an SDK error into an S3BackendError whose message says what went wrong and where. */
export function explainS3Error(
  e: unknown,
  op: string,
  key: string | undefined,
  at: { describe(): string; bucket: string; endpoint: string | undefined },
): Error {
  if (e instanceof S3BackendError || e instanceof ConditionalWritesUnsupportedError || e instanceof InvalidKeyError) return e;
  const status = statusOf(e);
  const code = codeOf(e);
  const where = at.describe();
  const what = `${op}${key !== undefined ? ` ${key}` : ''}`;
  let msg: string;
  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test((e as ErrLike)?.message ?? '')) {
    msg = `S3 ${what}: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)`;
  } else if (status === 403 || CRED_CODES.has(code) || code === 'AccessDenied') {
    msg = CRED_CODES.has(code)
      ? `S3 rejected the credentials (${code}) for ${where}: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`
      : `S3 access denied (403 ${code}) to ${what} in ${where}: check the credentials and the bucket policy`;
  } else if (code === 'NoSuchBucket') {
    msg = `S3 bucket "${at.bucket}" does not exist${at.endpoint ? ` at ${at.endpoint}` : ''} (create it, or fix MIC_S3_BUCKET / --s3-bucket)`;
  } else if (status >= 500) {
    msg = `S3 server error ${status} (${code}) on ${what} in ${where}: the S3 service is failing, retry later`;
  } else if (status === 0 && (NET_CODES.has(code) || NET_CODES.has((e as ErrLike)?.name ?? ''))) {
    msg = `cannot reach S3 (${code}) for ${what} in ${where}: is the endpoint up?`;
  } else {
    msg = `S3 ${what} in ${where} failed: ${status ? `${status} ` : ''}${code}${(e as ErrLike)?.message && (e as ErrLike).message !== code ? `: ${(e as ErrLike).message}` : ''}`;
  }
  return new S3BackendError(msg, status, code, { cause: e });
}
