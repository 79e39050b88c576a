// Moving a ref in S3 by conditional PUT (If-None-Match "*" to create, If-Match <etag> to replace), with
// outcomes resolved by reading the ref back: a ref body is unique (HeadRef carries generation + nonce), so
// after a conditional PUT whose outcome is unknown (412, 409, 5xx, network error) our exact bytes there
// mean we won.
import { bareEtag, codeOf, S3BackendError, statusOf } from './s3-errors.js';
import type { CasOutcome } from './object-backend.js';

/** How conditional PUTs ended: won at once, lost (412/409/5xx resolved by reading back), re-sent. */
export interface CasStats {
  won: number;
  lost: number;
  wonAfterReadBack: number;
  resent: number;
  byStatus: Record<string, number>;
}

export interface CasTarget {
  /** Full S3 key of the ref (for messages). */
  s3Key: string;
  /** One conditional PUT, no SDK retries; throws the raw SDK error. Resolves with the new ETag, if answered. */
  conditionalPut(data: Buffer, expect: string | null): Promise<string | undefined>;
  /** The ref now (ungated read). */
  getRef(): Promise<{ data: Buffer; version: string } | null>;
  explain(e: unknown, op: string, key: string): Error;
  describe(): string;
}

const LOST: CasOutcome = { won: false, version: null };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Compare-and-swap of a ref: won when our bytes are the ref's now (with their ETag, bare, when S3 told it),
 *  lost when another write won. */
export async function casS3Ref(t: CasTarget, data: Buffer, expect: string | null, retries: number, stats: CasStats): Promise<CasOutcome> {
  const k = t.s3Key;
  for (let attempt = 0; ; attempt++) {
    let err: unknown;
    try {
      const etag = await t.conditionalPut(data, expect);
      stats.won++;
      return { won: true, version: etag ? bareEtag(etag) : null };
    } catch (e) {
      err = e;
    }
    const status = statusOf(err);
    const code = codeOf(err);
    const tag = status ? String(status) : code;
    stats.byStatus[tag] = (stats.byStatus[tag] ?? 0) + 1;
    // If-Match on a missing key: AWS answers 404 NoSuchKey. The ref is not at `expect`, so we lost.
    if (expect !== null && status === 404 && code !== 'NoSuchBucket') {
      stats.lost++;
      return LOST;
    }
    const unknownOutcome = status === 412 || status === 409 || status >= 500 || status === 0 || code === 'PreconditionFailed';
    if (!unknownOutcome || code === 'NoSuchBucket' || code === 'CredentialsProviderError') throw t.explain(err, 'conditional PUT', k);
    // Lost, or unknown: the ref's current body tells. Ours (unique bytes) => we won.
    const now = await t.getRef();
    if (now && now.data.equals(data)) {
      stats.wonAfterReadBack++;
      return { won: true, version: now.version };
    }
    const unchanged = expect === null ? now === null : now !== null && now.version === bareEtag(expect);
    if (!unchanged) {
      stats.lost++;
      return LOST;
    }
    // Nobody's write landed. 412 with an unchanged ref means the condition itself is not understood.
    if (status === 412 || code === 'PreconditionFailed' || attempt >= retries) {
      throw new S3BackendError(
        `conditional PUT of ${k} in ${t.describe()} keeps failing (${status ? `${status} ` : ''}${code}) although the ref did not change`,
        status,
        code,
        { cause: err },
      );
    }
    stats.resent++;
    await sleep(Math.min(1000, 25 * 2 ** attempt) * (0.5 + Math.random()));
  }
}
