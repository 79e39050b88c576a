// The plumbing every kind of immutable object shares: keys under the project's prefix, deduplicated and
// freshened puts (existsFresh), verified gets through the backend's cache tier, and one fetch for
// concurrent readers. Blobs (blobs.ts), tree nodes and head records (heads.ts) are written through it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { ObjectBackend } from './object-backend.js';
import { checkedContent, checkedHash, decodeStored, sha256Hex } from './codec.js';
import { CorruptObjectError, MissingObjectError } from './errors.js';
import { validateRelKey } from './keys.js';
import { Limiter } from './limiter.js';

/** Objects reused after this age are touched first; gc's grace period must exceed it plus PRESENT_TTL_MS. */
export const FRESHEN_AFTER_MS = 60 * 60_000;
const PRESENT_TTL_MS = 15 * 60_000;
/** The shortest grace period that is safe while sessions are writing. */
export const SAFE_GC_GRACE_MS = 2 * 60 * 60_000;

/** A backend that can write content-addressed objects behind and make them durable in one flush
 *  (LocalBackend: one round of fsyncs instead of one per object). */
interface BatchingBackend {
  putBehind(key: string, data: Buffer): Promise<void>;
  flush(): Promise<void>;
}

/** A backend on which asking whether an object exists costs a round trip to a remote while a put is local
 *  and cheap (TieredBackend with an outbox): objects up to blindPutMaxBytes are put without asking. */
interface BlindPutBackend {
  readonly blindPutMaxBytes: number;
}

/** A backend whose puts of immutable objects are queued for a remote (TieredBackend with an outbox), which
 *  can also put one straight through to it. */
interface ThroughBackend {
  putThrough(key: string, data: Buffer): Promise<void>;
}

/** The objects a write batch (ObjectIo.batch) has put. */
interface WriteBatch {
  keys: Map<string, Promise<void>>;
}
const writeBatches = new AsyncLocalStorage<WriteBatch>();

export class ObjectIo {
  /** Object keys known to exist in the backend (objects are immutable). */
  /** Expires well inside FRESHEN_AFTER_MS, so a reused object is checked for age again (see existsFresh). */
  // bounded by maxSize, not max: lru-cache preallocates arrays for `max` (~20 ms of zero-filling per store,
  // 2-3 stores per CLI command); the same 200,000 entries at most
  private readonly present = new LRUCache<string, true>({ maxSize: 200_000, sizeCalculation: () => 1, ttl: PRESENT_TTL_MS });
  private readonly inflightGets = new Map<string, Promise<unknown>>();
  private readonly inflightPuts = new Map<string, Promise<void>>();
  readonly putLimiter: Limiter;
  /** objects a batch has written behind and no flush has made durable yet */
  private readonly behind = new Map<string, Promise<void>>();

  constructor(
    readonly backend: ObjectBackend,
    readonly prefix: string,
    putConcurrency: number,
    readonly log: Logger | undefined,
  ) {
    this.putLimiter = new Limiter(putConcurrency);
  }

  /** Full backend key of a key relative to the project. */
  key(relKey: string): string {
    validateRelKey(relKey);
    return this.prefix + relKey;
  }

  isPresent(key: string): boolean {
    return this.present.has(key);
  }
  markPresent(key: string): void {
    this.present.set(key, true);
  }
  /** Forgets which objects are known to exist (after a gc deleted some). */
  forgetPresent(): void {
    this.present.clear();
  }
  /** True while a fetch with this id (see once) is under way. */
  inFlight(id: string): boolean {
    return this.inflightGets.has(id);
  }

  /** Uploads an immutable object unless it is known or found to exist; concurrent puts share one. Inside
   *  batch() on a batching backend it is written behind: durable once the batch ends. */
  putObject(key: string, encode: () => Buffer): Promise<void> {
    const blind = (this.backend as Partial<BlindPutBackend>).blindPutMaxBytes ?? 0;
    return this.putBytes(key, () =>
      this.putLimiter.run(async () => {
        if (blind > 0) {
          // A small object is put without the existence check's round trip: a put of the same bytes under
          // its content-addressed key changes nothing, and resets its age as existsFresh's touch would.
          const data = encode();
          if (data.length <= blind || !(await this.existsFresh(key))) await this.write(key, data);
          return;
        }
        if (!(await this.existsFresh(key))) await this.write(key, encode());
      }),
    );
  }

  /**
   * putObject of an object that a compare-and-swap names right after (a head record): where puts are queued
   * for a remote, straight through to it, because the swap would wait for its upload anyway, and the queue's
   * durable local copy (an fsynced write, an unlink after the upload) only adds to that wait.
   */
  putObjectNow(key: string, encode: () => Buffer): Promise<void> {
    const b = this.backend as Partial<ThroughBackend>;
    if (typeof b.putThrough !== 'function' || writeBatches.getStore()) return this.putObject(key, encode);
    return this.putShared(key, () => b.putThrough!(key, encode()));
  }

  /** put runs (once per key) unless the object is known to exist; in a batch, behind (put writes through
   *  write()). Concurrent callers share one put. */
  putBytes(key: string, put: () => Promise<void>): Promise<void> {
    const batch = this.batching() ? writeBatches.getStore() : undefined;
    if (!batch) {
      const w = this.behind.get(key);
      // written behind by a batch still under way: durable once flushed
      if (w) return w.then(() => (this.backend as unknown as BatchingBackend).flush());
      return this.putShared(key, put);
    }
    if (this.present.has(key)) return Promise.resolve();
    let w = this.behind.get(key) ?? this.inflightPuts.get(key);
    if (!w) {
      const p = put();
      w = p;
      this.behind.set(key, p);
      p.catch(() => {
        if (this.behind.get(key) === p) this.behind.delete(key);
      });
    }
    batch.keys.set(key, w);
    return w;
  }

  /** The stored bytes of a content-addressed object: behind inside a batch, else durable at once. */
  write(key: string, data: Buffer): Promise<void> {
    if (this.batching() && writeBatches.getStore()) return (this.backend as unknown as BatchingBackend).putBehind(key, data);
    return this.backend.put(key, data);
  }

  private batching(): boolean {
    return typeof (this.backend as Partial<BatchingBackend>).putBehind === 'function';
  }

  /**
   * Runs fn with the objects it puts written behind (on a batching backend), and makes them all durable
   * in one flush before it returns. Nothing durable may name them before: fn must not write refs or
   * records (a seal writes only objects). Other callers putting the same object meanwhile wait for the
   * flush; a nested batch joins the outer one.
   */
  async batch<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.batching() || writeBatches.getStore()) return fn();
    const b: WriteBatch = { keys: new Map() };
    try {
      return await writeBatches.run(b, fn);
    } finally {
      const settled = await Promise.allSettled(b.keys.values());
      await (this.backend as unknown as BatchingBackend).flush();
      let i = 0;
      for (const [key, w] of b.keys) {
        if (settled[i++].status === 'fulfilled') this.present.set(key, true);
        if (this.behind.get(key) === w) this.behind.delete(key);
      }
    }
  }

  /**
   * True when the object exists. An existing object older than FRESHEN_AFTER_MS may be garbage that gc
   * is about to delete, so reusing it first resets its age (touch), as git does with loose objects.
   */
  async existsFresh(key: string): Promise<boolean> {
    const st = await this.backend.stat(key);
    if (!st) return false;
    if (Date.now() - st.mtimeMs < FRESHEN_AFTER_MS) return true;
    try {
      await this.backend.touch(key);
      return true;
    } catch {
      return false; // e.g. S3 unreachable: put it again (queued), which resets the age as well
    }
  }

  /** Runs put unless the key is known to exist; concurrent callers for one key share it. */
  putShared(key: string, put: () => Promise<void>): Promise<void> {
    if (this.present.has(key)) return Promise.resolve();
    let p = this.inflightPuts.get(key);
    if (!p) {
      p = put().then(() => {
        this.present.set(key, true);
      });
      this.inflightPuts.set(key, p);
      p.then(
        () => this.inflightPuts.delete(key),
        () => this.inflightPuts.delete(key),
      );
    }
    return p;
  }

  /** get + decode + verify SHA-256 of the content. */
  fetchVerified(key: string, hash: string): Promise<Buffer> {
    return this.fetchChecked(key, (stored) => decodeVerified(key, hash, stored));
  }

  /**
   * Gets an immutable object and checks it with `check` (which throws CorruptObjectError on a mismatch).
   * A backend with a cache tier hands over its cached copy unchecked, since this check covers it; a copy
   * that fails is discarded and the object fetched again through the tier's own checks.
   */
  async fetchChecked<T>(key: string, check: (stored: Buffer) => T, alloc?: (n: number) => Buffer): Promise<T> {
    const tier = this.backend.cacheTier;
    const stored = await (tier ? tier.getUnchecked(key) : this.backend.get(key, alloc));
    if (!stored) throw new MissingObjectError(key, this.backend.whyMissing?.(key));
    let out: T;
    try {
      out = check(stored);
    } catch (e) {
      if (!(e instanceof CorruptObjectError)) throw e;
      if (!tier) {
        // a store with more than one copy (a damaged pack, a loose file): the bad one is skipped from now on
        const where = this.backend.reportCorrupt?.(key, e.detail);
        if (!where) throw e;
        const again = await this.backend.get(key);
        if (!again) throw new CorruptObjectError(key, `${e.detail} (${where})`);
        out = check(again);
        this.present.set(key, true);
        return out;
      }
      this.log?.warn({ key, err: e.message }, 'corrupt cached object dropped; fetching it again');
      await tier.discard(key);
      const again = await this.backend.get(key);
      if (!again) throw new MissingObjectError(key);
      out = check(again);
    }
    this.present.set(key, true);
    return out;
  }

  /** Runs fn once for concurrent callers with the same id. */
  once<T>(id: string, fn: () => Promise<T>): Promise<T> {
    let p = this.inflightGets.get(id) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.inflightGets.set(id, p);
      const done = () => this.inflightGets.delete(id);
      p.then(done, done);
    }
    return p;
  }
}

/** Decodes stored bytes (RAW/ZSTD) and checks the content's SHA-256. */
export function decodeVerified(key: string, hash: string, stored: Buffer): Buffer {
  const done = checkedContent(stored, hash); // decoded and checked by the S3 fetch worker
  if (done) return done;
  let data: Buffer;
  try {
    data = decodeStored(stored);
  } catch (e) {
    throw new CorruptObjectError(key, (e as Error).message);
  }
  if (checkedHash(stored) !== hash && sha256Hex(data) !== hash) throw new CorruptObjectError(key, 'hash mismatch');
  return data;
}
