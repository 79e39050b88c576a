// Objects, trees and refs. The key layout:
//   projects/<org>/<name>/blobs/<h[0:2]>/<h>     zstd-compressed content, h = SHA-256 of the content
//   projects/<org>/<name>/trees/<h[0:2]>/<h>     zstd-compressed tree node, h = SHA-256 of its encoding
//   projects/<org>/<name>/heads/<h[0:2]>/<h>     immutable head records (history)
//   projects/<org>/<name>/head                   the mutable head ref (compare-and-swap only)
//   projects/<org>/<name>/sessions/<id>/metadata.json, tree.json
//   index/sessions/<id>                          which project a session belongs to
//   index/live/<id>, index/recent/<a>/<b>/<t>-<id>  live sessions; every session, newest first (session/session-index.ts)

/**
 * A cache in front of a backend (TieredBackend's SSD tier). get checks a cached content-addressed object's
 * hash; getUnchecked leaves that to the caller, who calls discard on a mismatch.
 */
export interface CacheTier {
  getUnchecked(key: string): Promise<Buffer | null>;
  /** Drops any cached copy of a content-addressed object (it failed the caller's check). */
  discard(key: string): Promise<void>;
}

/** How a compare-and-swap ended (casRefVersion): won, and the ref's version token then if known. */
export interface CasOutcome {
  won: boolean;
  version: string | null;
}

export interface ListOptions {
  startAfter?: string;
}

/** A byte store addressed by key. Local directory and S3 implement it; TieredBackend stacks a cache on one. */
export interface ObjectBackend {
  /** The cache tier in front of the store, or null when gets go straight to it. */
  readonly cacheTier: CacheTier | null;
  /** `alloc`, if given and the backend reads into memory it allocates itself, gives the buffer (a pooled chunk
   *  buffer, chunk-pool.ts) the object is read into; the result is then that buffer or a view of it. */
  get(key: string, alloc?: (n: number) => Buffer): Promise<Buffer | null>;
  /** Atomic and durable once resolved; overwrites. */
  put(key: string, data: Buffer): Promise<void>;
  has(key: string): Promise<boolean>;
  /** Size and last write time, or null when absent. */
  stat(key: string): Promise<{ size: number; mtimeMs: number } | null>;
  /** Sets the last write time to now (garbage collection's grace period counts from it). */
  touch(key: string): Promise<void>;
  /** True when e (thrown by this backend) means "unreachable or failing for now", not "refused". */
  isTransient(e: unknown): boolean;
  delete(key: string): Promise<void>;
  /** Keys starting with prefix, in byte order. startAfter: only keys after it (a page's cursor); a
   *  backend may ignore it, so callers skip what is not after it themselves. */
  list(prefix: string, opts?: ListOptions): AsyncIterable<{ key: string; size: number; mtimeMs: number }>;
  /** Read a mutable ref with the version token to pass to casRef. */
  getRef(key: string): Promise<{ data: Buffer; version: string } | null>;
  /** Compare-and-swap: expect === null means "must not exist yet".
   *  Resolves false when another writer won; never overwrites a newer ref. */
  casRef(key: string, data: Buffer, expect: string | null): Promise<boolean>;
  /** Optional: casRef that also gives the ref's version token after a win (null: won, token not known), so
   *  a writer that moves the ref again can swap on what it wrote without reading it first (AuditLog). */
  casRefVersion?(key: string, data: Buffer, expect: string | null): Promise<CasOutcome>;
  /** Optional (a store holding more than one copy of an object: LocalBackend's packs): the copy get returned
   *  failed the caller's check; returns where it was, so the next get skips it, or null (nothing else to try). */
  reportCorrupt?(key: string, detail: string): string | null;
  /** Optional: why key is not there, where the store knows (a damaged pack may hold it), else null. */
  whyMissing?(key: string): string | null;
}
