// Read tiers below ObjectStore's RAM cache: the local SSD cache (DiskCache), then the remote backend (S3).
// Immutable content-addressed objects are served from the disk cache when present and verified, and
// otherwise fetched once (concurrent gets of a key share the fetch), verified, and cached.
// With an outbox (opts.outboxDir), immutable objects are written to it durably and to the cache, and
// uploaded in the background (upload-queue.ts); mutable writes (refs, documents) first wait for the
// uploads queued before them. Without one, writes go through to the remote. Refs, documents, listings and
// existence checks go to the remote, except that queued objects exist.
// A remote with a fetch worker (S3Backend: WorkerCaching) has the worker append the cache's copy of what it
// fetches to a pack of its own and read cached copies back, each checked against its hash there: the thread
// that answers NFS calls then neither hashes nor runs the file calls of a read from the remote or the cache.
import type { Logger } from 'pino';
import type { CacheTier, CasOutcome, ListOptions, ObjectBackend } from './object-backend.js';
import { DiskCache, isContentAddressedKey, verifyContentAddressed } from './disk-cache.js';
import { LocalBackend } from './local-backend.js';
import type { CachePlace } from './cache-file-io.js';
import type { PackLocation } from './cache-pack.js';
import { UploadQueue, type UploadQueueOptions, type UploadStats } from './upload-queue.js';

/** A remote whose fetch worker appends and reads the disk cache's copies (S3Backend, s3-fetch-pool.ts). */
export interface WorkerCaching {
  /** get, with the copy of an object that matches its hash appended to a pack in place (cached: where) */
  getCaching(key: string, place: CachePlace): Promise<{ data: Buffer | null; checked: boolean; cached: PackLocation | null }>;
  /** a cached copy read and checked (a copy that matches its hash comes back marked, codec.ts markChecked) */
  readCached(key: string, file: string, offset: number, size: number): Promise<Buffer | null>;
}

function workerCaching(b: ObjectBackend): WorkerCaching | null {
  const w = b as Partial<WorkerCaching>;
  return typeof w.getCaching === 'function' && typeof w.readCached === 'function' ? (b as unknown as WorkerCaching) : null;
}

export interface TieredOptions {
  /** Directory of the upload outbox; none: synchronous write-through. */
  outboxDir?: string;
  log?: Logger;
  /** Tuning of the upload queue (concurrency, backoff, barrier timeout). */
  upload?: Omit<UploadQueueOptions, 'outbox' | 'remote' | 'log' | 'fallback'>;
}

export interface TieredStats {
  /** gets answered by the disk cache */
  diskHits: number;
  /** gets that went to the remote */
  remoteGets: number;
  /** gets that joined a fetch already in flight */
  sharedGets: number;
  /** remote objects whose bytes did not match their key's hash (served as fetched, never cached) */
  remoteCorrupt: number;
  /** cache writes that failed (the operation itself still succeeded) */
  cacheErrors: number;
  /** cached copies dropped because they failed the caller's check (getUnchecked, then discard) */
  discarded: number;
}

export class TieredBackend implements ObjectBackend, CacheTier {
  readonly cacheTier: CacheTier = this;
  readonly stats: TieredStats = { diskHits: 0, remoteGets: 0, sharedGets: 0, remoteCorrupt: 0, cacheErrors: 0, discarded: 0 };
  private readonly inflight = new Map<string, Promise<Buffer | null>>();
  private readonly caching = new Map<string, Promise<void>>();
  /** Background uploads (with opts.outboxDir), else null. */
  readonly uploads: UploadQueue | null;
  private readonly worker: WorkerCaching | null;
  /**
   * With an outbox, a put of a content-addressed object is a local write and the question whether the remote
   * has it a round trip (HEAD): ObjectIo puts objects up to this size without asking (0: always asks). The
   * upload sends it without a HEAD either (upload-queue.ts); a PUT of bytes the bucket has changes nothing.
   */
  readonly blindPutMaxBytes: number;

  constructor(
    readonly remote: ObjectBackend,
    readonly cache: DiskCache,
    opts: TieredOptions = {},
  ) {
    this.uploads =
      opts.outboxDir === undefined
        ? null
        : new UploadQueue({
            ...opts.upload,
            outbox: new LocalBackend(opts.outboxDir),
            remote,
            log: opts.log,
            fallback: (key) => this.cache.get(key),
          });
    this.worker = workerCaching(remote);
    this.blindPutMaxBytes = this.uploads ? 64 * 1024 : 0;
  }

  /** Queues what an earlier process left in the outbox (call once, at start-up); returns how many. */
  resumeUploads(): Promise<number> {
    return this.uploads?.resume() ?? Promise.resolve(0);
  }

  /** Waits until every object queued so far is uploaded; false if timeoutMs passed first. */
  drain(timeoutMs?: number): Promise<boolean> {
    return this.uploads?.drain(timeoutMs) ?? Promise.resolve(true);
  }

  uploadStats(): UploadStats | null {
    return this.uploads?.stats() ?? null;
  }

  /**
   * Drains for up to drainMs, then stops uploading (the rest stays in the outbox) and closes the remote.
   * Disk-cache writes of fetched objects under way are finished first, so the next start finds them.
   */
  async close(drainMs = 0): Promise<boolean> {
    const [drained] = await Promise.all([this.drain(drainMs), this.cacheSettled()]);
    this.uploads?.close();
    this.cache.close();
    const r = this.remote as ObjectBackend & { close?: () => Promise<void> };
    await r.close?.();
    return drained;
  }

  /** Scans the cache and runs the remote's own start-up checks (S3Backend.ready), if any. */
  async ready(): Promise<void> {
    const r = this.remote as ObjectBackend & { ready?: () => Promise<void> };
    await Promise.all([this.cache.ready(), r.ready?.()]);
  }

  async get(key: string): Promise<Buffer | null> {
    return this.read(key, true);
  }

  /** get, except that the disk copy and the fetched bytes are not hashed here: the caller checks them. */
  getUnchecked(key: string): Promise<Buffer | null> {
    return this.read(key, false);
  }

  /** Drops the cached copy of an object that failed the caller's check (after its cache write, if one runs). */
  async discard(key: string): Promise<void> {
    if (!isContentAddressedKey(key)) return;
    await this.caching.get(key);
    this.inflight.delete(key); // the next get fetches anew rather than joining the bad fetch
    this.stats.discarded++;
    await this.cache.delete(key).catch(() => {
      this.stats.cacheErrors++;
    });
  }

  private async read(key: string, check: boolean): Promise<Buffer | null> {
    if (!isContentAddressedKey(key)) return this.remote.get(key);
    try {
      const w = this.worker;
      const hit = await this.cache.get(key, check, w ? (file, offset, size) => w.readCached(key, file, offset, size) : undefined);
      if (hit) {
        this.stats.diskHits++;
        return hit;
      }
    } catch {
      this.stats.cacheErrors++; // an unreadable cache must not stop reads
    }
    if (this.uploads?.has(key)) {
      const queued = await this.uploads.read(key); // not uploaded yet, and evicted from the cache meanwhile
      if (queued) return queued;
    }
    const running = this.inflight.get(key);
    if (running) {
      this.stats.sharedGets++;
      return running;
    }
    const p = this.fetch(key, check);
    this.inflight.set(key, p);
    const done = () => {
      if (this.inflight.get(key) === p) this.inflight.delete(key);
    };
    // kept until the disk copy is written, so a get meanwhile neither misses the cache nor fetches again
    p.then(() => this.caching.get(key)).then(done, done);
    return p;
  }

  private async fetch(key: string, check: boolean): Promise<Buffer | null> {
    this.stats.remoteGets++;
    if (this.worker && this.cache.cacheable(key)) return this.fetchCaching(this.worker, key, check);
    const data = await this.remote.get(key);
    if (data === null) return null;
    if (check && !verifyContentAddressed(key, data)) {
      // Not cached: the caller's own verification reports it, and the next read fetches it again.
      this.stats.remoteCorrupt++;
      return data;
    }
    // the disk write is off the read's path; a get of the key meanwhile still shares this fetch
    const write = this.cachePut(key, data);
    this.caching.set(key, write);
    void write.finally(() => {
      if (this.caching.get(key) === write) this.caching.delete(key);
    });
    return data;
  }

  /** fetch through the remote's worker, which checks the object and writes the cache's copy of one that
   *  matches its hash; the cache takes it in here. One that does not match is neither cached nor marked. */
  private async fetchCaching(w: WorkerCaching, key: string, check: boolean): Promise<Buffer | null> {
    const { data, checked, cached } = await w.getCaching(key, this.cache.place());
    if (data === null) return null;
    if (!checked) {
      // the caller's own check (getUnchecked) or get's reports it; the next read fetches again
      if (check) this.stats.remoteCorrupt++;
      return data;
    }
    if (!cached) {
      this.stats.cacheErrors++;
      return data;
    }
    const adopt = this.cache.adopt(key, cached).catch(() => {
      this.stats.cacheErrors++;
    });
    this.caching.set(key, adopt);
    void adopt.finally(() => {
      if (this.caching.get(key) === adopt) this.caching.delete(key);
    });
    return data;
  }

  /** Resolves when the disk-cache writes of fetched objects have finished. */
  async cacheSettled(): Promise<void> {
    await Promise.all([...this.caching.values()]);
  }

  async put(key: string, data: Buffer): Promise<void> {
    const ca = isContentAddressedKey(key);
    if (ca && this.uploads) {
      await this.uploads.enqueue(key, data);
    } else {
      if (!ca) await this.uploads?.barrier();
      await this.remote.put(key, data);
    }
    if (ca) await this.cachePut(key, data);
  }

  /**
   * put of an object that a compare-and-swap names right after (ObjectIo.putObjectNow): straight to the remote
   * and into the cache, not through the outbox, whose upload the swap's barrier would wait for. While the
   * queue has uploads of its own (it keeps the remote's PUTs to its concurrency), and with the remote away
   * (this put failing for now), it is queued as any object: the swap then waits for its upload as before.
   */
  async putThrough(key: string, data: Buffer): Promise<void> {
    if (!this.uploads || !isContentAddressedKey(key)) return this.put(key, data);
    if (this.uploads.idle) {
      const cached = this.cachePut(key, data);
      try {
        await this.remote.put(key, data);
        await cached;
        return;
      } catch (e) {
        await cached;
        if (!this.remote.isTransient(e)) throw e;
      }
    }
    await this.put(key, data);
  }

  /**
   * Queued objects exist; otherwise asks the remote: ObjectStore skips an upload when has() is true, and
   * the disk cache may hold objects the bucket does not (another bucket or prefix, a deletion). With an
   * outbox, an unreachable remote answers false for immutable objects: the put that follows is queued,
   * and the upload checks again.
   */
  async has(key: string): Promise<boolean> {
    if (!this.uploads || !isContentAddressedKey(key)) return this.remote.has(key);
    return (await this.stat(key)) !== null;
  }

  /** A queued object counts as just written; an unreachable remote as absent (see has). */
  async stat(key: string): Promise<{ size: number; mtimeMs: number } | null> {
    const remote = () => this.remote.stat(key);
    if (!this.uploads || !isContentAddressedKey(key)) return remote();
    if (this.uploads.has(key)) return { size: 0, mtimeMs: Date.now() };
    if (this.uploads.failing) return null; // don't wait for an unreachable remote
    try {
      return await remote();
    } catch (e) {
      if (this.remote.isTransient(e)) return null;
      throw e;
    }
  }

  async touch(key: string): Promise<void> {
    if (this.uploads && isContentAddressedKey(key) && this.uploads.has(key)) return;
    await this.remote.touch(key);
  }

  isTransient(e: unknown): boolean {
    return this.remote.isTransient(e);
  }

  async delete(key: string): Promise<void> {
    if (isContentAddressedKey(key)) {
      await this.uploads?.cancel(key);
      await this.cache.delete(key).catch(() => {
        this.stats.cacheErrors++;
      });
    }
    await this.remote.delete(key);
  }

  list(prefix: string, opts?: ListOptions): AsyncIterable<{ key: string; size: number; mtimeMs: number }> {
    return this.remote.list(prefix, opts);
  }

  getRef(key: string): Promise<{ data: Buffer; version: string } | null> {
    return this.remote.getRef(key);
  }

  async casRef(key: string, data: Buffer, expect: string | null): Promise<boolean> {
    await this.uploads?.barrier();
    return this.remote.casRef(key, data, expect);
  }

  async casRefVersion(key: string, data: Buffer, expect: string | null): Promise<CasOutcome> {
    await this.uploads?.barrier();
    if (this.remote.casRefVersion) return this.remote.casRefVersion(key, data, expect);
    return { won: await this.remote.casRef(key, data, expect), version: null };
  }

  private async cachePut(key: string, data: Buffer): Promise<void> {
    try {
      await this.cache.put(key, data);
    } catch {
      this.stats.cacheErrors++;
    }
  }
}
