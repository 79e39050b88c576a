// Probes of an S3 endpoint before mic-fs trusts it with a shared head: bucket access, and conditional
// writes (If-None-Match / If-Match) honoured rather than ignored.
import { randomBytes } from 'node:crypto';
import type { ObjectBackend } from './object-backend.js';
import { ConditionalWritesUnsupportedError, S3BackendError } from './s3-errors.js';

/** What the probes use of an S3Backend (s3-backend.ts). */
export interface ProbedBackend {
  /** an uncached listing of at most one key */
  listOne(): Promise<void>;
  describe(): string;
  /** the same bucket without the first-use verification */
  unverified(): ObjectBackend;
}

/** Fails with a one-line reason (403, NoSuchBucket, 5xx, unreachable) unless the bucket can be listed. */
export async function checkBucketAccess(backend: ProbedBackend): Promise<void> {
  await backend.listOne();
}

/**
 * Proves that the endpoint honours conditional writes, on a probe key under "<prefix>probe/":
 * If-None-Match "*" creates once and then fails; If-Match with a wrong ETag fails; with the right
 * one it succeeds. Throws ConditionalWritesUnsupportedError (one line) when the endpoint ignores them.
 */
export async function checkConditionalWrites(backend: ProbedBackend): Promise<void> {
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
