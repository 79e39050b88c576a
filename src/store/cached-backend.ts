// Read tiers below ObjectStore's RAM cache: the local SSD cache (DiskCache), then the remote backend (S3).
// Immutable content-addressed objects are served from the disk cache when present and verified, and
// otherwise fetched once (concurrent gets of a key share the fetch), verified, and cached.
// Writes go through to the remote and are cached. Refs, documents, listings and existence checks always
// go to the remote.
import type { ObjectBackend } from './types.js';
import { DiskCache, isContentAddressedKey, verifyContentAddressed } from './disk-cache.js';

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
}

export class TieredBackend implements ObjectBackend {
  readonly stats: TieredStats = { diskHits: 0, remoteGets: 0, sharedGets: 0, remoteCorrupt: 0, cacheErrors: 0 };
  private readonly inflight = new Map<string, Promise<Buffer | null>>();

  constructor(readonly remote: ObjectBackend, readonly cache: DiskCache) {}

  /** Scans the cache and runs the remote's own start-up checks (S3Backend.ready), if any. */
  async ready(): Promise<void> {
    const r = this.remote as ObjectBackend & { ready?: () => Promise<void> };
    await Promise.all([this.cache.ready(), r.ready?.()]);
  }

  async get(key: string): Promise<Buffer | null> {
    if (!isContentAddressedKey(key)) return this.remote.get(key);
    try {
      const hit = await this.cache.get(key);
      if (hit) {
        this.stats.diskHits++;
        return hit;
      }
    } catch {
      this.stats.cacheErrors++; // an unreadable cache must not stop reads
    }
    const running = this.inflight.get(key);
    if (running) {
      this.stats.sharedGets++;
      return running;
    }
    const p = this.fetch(key);
    this.inflight.set(key, p);
    const done = () => this.inflight.delete(key);
    p.then(done, done);
    return p;
  }

  private async fetch(key: string): Promise<Buffer | null> {
    this.stats.remoteGets++;
    const data = await this.remote.get(key);
    if (data === null) return null;
    if (!verifyContentAddressed(key, data)) {
      // Not cached: the caller's own verification reports it, and the next read fetches it again.
      this.stats.remoteCorrupt++;
      return data;
    }
    await this.cachePut(key, data);
    return data;
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.remote.put(key, data);
    if (isContentAddressedKey(key)) await this.cachePut(key, data);
  }

  /**
   * Always asks the remote: ObjectStore skips an upload when has() is true, and the disk cache may hold
   * objects the bucket does not (another bucket or prefix with the same data directory, a deletion).
   */
  has(key: string): Promise<boolean> {
    return this.remote.has(key);
  }

  async delete(key: string): Promise<void> {
    if (isContentAddressedKey(key)) await this.cache.delete(key).catch(() => { this.stats.cacheErrors++; });
    await this.remote.delete(key);
  }

  list(prefix: string): AsyncIterable<{ key: string; size: number; mtimeMs: number }> {
    return this.remote.list(prefix);
  }

  getRef(key: string): Promise<{ data: Buffer; version: string } | null> {
    return this.remote.getRef(key);
  }

  casRef(key: string, data: Buffer, expect: string | null): Promise<boolean> {
    return this.remote.casRef(key, data, expect);
  }

  private async cachePut(key: string, data: Buffer): Promise<void> {
    try {
      await this.cache.put(key, data);
    } catch {
      this.stats.cacheErrors++;
    }
  }
}
