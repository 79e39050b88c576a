// One project's objects: blobs, directory trees, head records and the head ref, plus JSON docs.
// Everything under projects/<org>/<name>/ (layout in types.ts). Reads are verified against their hash.
//
// Large blobs: content above CHUNK_THRESHOLD is cut by content-defined chunking (chunker.ts); each chunk
// is an ordinary blob and blobs/<sha256(content)> holds a manifest (manifest.ts), written after its
// chunks. An edit in the middle of a large file therefore uploads only the chunks near it. getBlob
// assembles and verifies the whole content; readBlob fetches only the chunks a range needs (each verified
// by its own hash), and sequential readBlobs fetch a few MiB ahead into the RAM cache.
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { HeadRecord, HeadRef, ObjectBackend, TreeEntry } from './types.js';
import { decodeStored, encodeStored, sha256Hex } from './codec.js';
import { CHUNK_MAX, cutLength } from './chunker.js';
import {
  CHUNK_THRESHOLD, chunkIndexAt, decodeManifest, encodeManifest, isManifest, makeManifest, type ChunkRef, type Manifest,
} from './manifest.js';
import { CorruptObjectError, MissingObjectError } from './errors.js';
import { HEAD_REF_REL_KEY, isHash, objectRelKey, projectPrefix, validateHash, validateRelKey } from './keys.js';
import { Limiter } from './limiter.js';
import { streamChunks, type ContentReader } from './chunk-stream.js';
import { EMPTY_LEAF, EMPTY_TREE, decodeNode, encodeNode, type TreeNode } from './tree-codec.js';
import { TreeStore, type DirChange } from './tree.js';

/** Objects reused after this age are touched first; gc's grace period must exceed it plus PRESENT_TTL_MS. */
export const FRESHEN_AFTER_MS = 60 * 60_000;
const PRESENT_TTL_MS = 15 * 60_000;
/** The shortest grace period that is safe while sessions are writing. */
export const SAFE_GC_GRACE_MS = 2 * 60 * 60_000;

export { projectPrefix, validateProject, isValidProject } from './keys.js';

export interface ObjectStoreOptions {
  /** RAM cache for decoded blobs, in bytes (default 64 MiB). */
  cacheBytes?: number;
  /** RAM cache for decoded tree nodes and listings, in entries (default 200 000 each). */
  treeCacheEntries?: number;
  /** Concurrent backend writes (default 8). */
  putConcurrency?: number;
  /** How far sequential reads of a chunked blob fetch ahead, in bytes (default 4 MiB; 0: never). */
  readAheadBytes?: number;
  /** Background failures (read-ahead) are logged here at debug level. */
  log?: Logger;
}

/** Reads within this distance of where the last read of a blob ended count as sequential. */
const SEQ_SLACK = 4 * 1024 * 1024;
/** Chunks fetched concurrently by read-ahead, and by getBlob while assembling. */
const PREFETCH_MAX = 8;

export interface HeadState { ref: HeadRef; record: HeadRecord; version: string; hash: string }

export class ObjectStore {
  /** "projects/<org>/<name>/" */
  readonly prefix: string;
  private readonly blobCache: LRUCache<string, Buffer>;
  /** Manifests of chunked blobs, sized by chunk count. */
  private readonly manifests = new LRUCache<string, Manifest>({ maxSize: 200_000, sizeCalculation: (m) => m.chunks.length + 1 });
  /** Where the last read of each chunked blob ended (sequential detection). */
  private readonly streams = new LRUCache<string, { end: number; dropped: number }>({ max: 1024 });
  private prefetching = 0;
  private readonly readAheadBytes: number;
  private readonly log: Logger | undefined;
  private readonly nodeCache: LRUCache<string, TreeNode>;
  private readonly headCache = new LRUCache<string, HeadRecord>({ max: 1024 });
  /** Object keys known to exist in the backend (objects are immutable). */
  /** Expires well inside FRESHEN_AFTER_MS, so a reused object is checked for age again (see ensureObject). */
  private readonly present = new LRUCache<string, true>({ max: 200_000, ttl: PRESENT_TTL_MS });
  private readonly inflightGets = new Map<string, Promise<unknown>>();
  private readonly inflightPuts = new Map<string, Promise<void>>();
  private readonly putLimiter: Limiter;
  private readonly trees: TreeStore;

  constructor(readonly backend: ObjectBackend, readonly project: string, opts: ObjectStoreOptions = {}) {
    this.prefix = projectPrefix(project);
    const cacheBytes = Math.max(1, opts.cacheBytes ?? 64 * 1024 * 1024);
    this.blobCache = new LRUCache({
      maxSize: cacheBytes,
      // a whole chunk must fit, or read-ahead and JUKEBOX retries could never hit
      maxEntrySize: Math.min(cacheBytes, Math.max(CHUNK_MAX, Math.floor(cacheBytes / 4))),
      sizeCalculation: (b) => Math.max(1, b.length),
    });
    const treeEntries = opts.treeCacheEntries ?? 200_000;
    this.nodeCache = new LRUCache({
      maxSize: treeEntries,
      sizeCalculation: (n) => (n.type === 'leaf' ? n.entries.length + 1 : 1),
    });
    this.putLimiter = new Limiter(opts.putConcurrency ?? 8);
    this.readAheadBytes = opts.readAheadBytes ?? 8 * 1024 * 1024;
    this.log = opts.log;
    this.trees = new TreeStore(
      { readNode: (h) => this.readNode(h), writeNode: (n) => this.writeNode(n) },
      { listCacheEntries: treeEntries },
    );
  }

  /** Full backend key of a key relative to the project. */
  key(relKey: string): string {
    validateRelKey(relKey);
    return this.prefix + relKey;
  }

  // ---- blobs ----

  /** Stores content (deduplicated; large content as chunks); returns its SHA-256 hex. */
  async putBlob(data: Buffer): Promise<string> {
    const hash = sha256Hex(data);
    const key = this.key(objectRelKey('blobs', hash));
    if (data.length <= CHUNK_THRESHOLD) await this.putObject(key, () => encodeStored(data));
    else await this.putShared(key, () => this.putChunked(key, hash, data));
    return hash;
  }

  /** Chunks first (each deduplicated), then the manifest, so a manifest never names a missing chunk. */
  private async putChunked(key: string, hash: string, data: Buffer): Promise<void> {
    if (await this.putLimiter.run(() => this.existsFresh(key))) return;
    const chunks: ChunkRef[] = [];
    const puts: Promise<void>[] = [];
    for (let pos = 0; pos < data.length;) {
      const part = data.subarray(pos, pos + cutLength(data, pos, data.length));
      pos += part.length;
      const h = sha256Hex(part);
      chunks.push({ hash: h, length: part.length });
      puts.push(this.putObject(this.key(objectRelKey('blobs', h)), () => encodeStored(part)));
      if (chunks.length % 16 === 0) await new Promise((r) => setImmediate(r)); // let other calls run
    }
    await Promise.all(puts);
    const m = makeManifest(hash, chunks);
    await this.putLimiter.run(() => this.backend.put(key, encodeManifest(m)));
    this.manifests.set(hash, m);
  }

  /** Stores content of `size` bytes read piece by piece (see chunk-stream.ts): memory stays bounded however
   *  large the content is. Same hash, chunks and manifest as putBlob of the whole content. */
  async putBlobFrom(size: number, read: ContentReader): Promise<string> {
    if (size <= CHUNK_THRESHOLD) {
      const data = Buffer.allocUnsafe(size);
      for (let got = 0; got < size;) {
        const n = read(data.subarray(got), size - got, got);
        if (n <= 0) throw new Error(`content ended at ${got} of ${size} bytes`);
        got += n;
      }
      return this.putBlob(data);
    }
    const chunks: ChunkRef[] = [];
    const puts = new Set<Promise<void>>();
    const hash = await streamChunks(size, read, async (view, h, kept) => {
      const part = kept ? view : Buffer.from(view);
      chunks.push({ hash: h, length: part.length });
      const p: Promise<void> = this.putObject(this.key(objectRelKey('blobs', h)), () => encodeStored(part)).finally(() => puts.delete(p));
      puts.add(p);
      if (puts.size >= 4) await Promise.race(puts); // at most 4 chunks held for upload
    });
    await Promise.all(puts);
    const key = this.key(objectRelKey('blobs', hash));
    await this.putShared(key, () => this.putLimiter.run(async () => {
      if (await this.existsFresh(key)) return;
      const m = makeManifest(hash, chunks);
      await this.backend.put(key, encodeManifest(m));
      this.manifests.set(hash, m);
    }));
    return hash;
  }

  /** Verified content. The Buffer may be shared with the cache: do not modify it. */
  async getBlob(hash: string): Promise<Buffer> {
    const r = await this.resolve(hash);
    if (Buffer.isBuffer(r)) return r;
    return this.blobCache.get(hash) ?? this.once(`w:${hash}`, async () => {
      const out = Buffer.allocUnsafe(r.size);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < r.chunks.length; i = next++) (await this.chunk(r.chunks[i]!, false)).copy(out, r.starts[i]);
      };
      await Promise.all(Array.from({ length: Math.min(PREFETCH_MAX, r.chunks.length) }, worker));
      if (sha256Hex(out) !== hash) throw new CorruptObjectError(this.key(objectRelKey('blobs', hash)), 'chunks do not match the content hash');
      this.blobCache.set(hash, out);
      return out;
    });
  }

  /** Verified bytes [offset, offset + length) of a blob (shorter at its end), fetching only the chunks needed. */
  async readBlob(hash: string, offset: number, length: number): Promise<Buffer> {
    return joinSlices(await this.readSlices(hash, offset, length));
  }

  /** readBlob as consecutive slices of cached chunks (no copy; do not modify them). */
  async readSlices(hash: string, offset: number, length: number): Promise<Buffer[]> {
    const hit = this.cachedSlices(hash, offset, length);
    if (hit) return hit;
    const r = await this.resolve(hash);
    if (Buffer.isBuffer(r)) return [r.subarray(offset, offset + length)];
    const end = Math.min(r.size, offset + length);
    if (offset >= end) return [];
    const first = chunkIndexAt(r, offset);
    const parts: Promise<Buffer>[] = [];
    for (let i = first; i <= chunkIndexAt(r, end - 1); i++) parts.push(this.chunk(r.chunks[i]!));
    this.readAhead(r, offset, end);
    return sliceRange(await Promise.all(parts), r.starts[first]!, offset, end);
  }

  /** readSlices without I/O: null unless the blob or every chunk the range needs is in RAM. */
  cachedSlices(hash: string, offset: number, length: number): Buffer[] | null {
    const r = this.manifests.get(hash) ?? this.blobCache.get(hash);
    if (!r) return null;
    if (Buffer.isBuffer(r)) return [r.subarray(offset, offset + length)];
    const end = Math.min(r.size, offset + length);
    if (offset >= end) return [];
    const first = chunkIndexAt(r, offset);
    const parts: Buffer[] = [];
    for (let i = first; i <= chunkIndexAt(r, end - 1); i++) {
      const b = this.blobCache.get(r.chunks[i]!.hash);
      if (!b) return null;
      parts.push(b);
    }
    this.readAhead(r, offset, end);
    return sliceRange(parts, r.starts[first]!, offset, end);
  }

  /** The chunks of a chunked blob in order, or null for a blob stored whole. A sizeHint (the file's size)
   *  at or below the threshold answers null without a fetch. */
  async blobChunks(hash: string, sizeHint?: number): Promise<{ hash: string; length: number }[] | null> {
    validateHash(hash);
    if (sizeHint !== undefined && sizeHint <= CHUNK_THRESHOLD) return null;
    const r = this.manifests.get(hash) ?? (await this.resolve(hash));
    return Buffer.isBuffer(r) ? null : r.chunks.map((c) => ({ hash: c.hash, length: c.length }));
  }

  /** Content size, from the manifest for a chunked blob. */
  async blobSize(hash: string): Promise<number> {
    const r = await this.resolve(hash);
    return Buffer.isBuffer(r) ? r.length : r.size;
  }

  /** A chunked blob's manifest, or the whole content of one stored whole (small, or stored before chunking). */
  private resolve(hash: string): Promise<Manifest | Buffer> {
    validateHash(hash);
    const hit = this.manifests.get(hash) ?? this.blobCache.get(hash);
    if (hit) return Promise.resolve(hit);
    return this.once(`b:${hash}`, async () => {
      const key = this.key(objectRelKey('blobs', hash));
      const r = await this.fetchChecked(key, (stored): Manifest | Buffer => {
        if (!isManifest(stored)) return decodeVerified(key, hash, stored);
        let m: Manifest;
        try {
          m = decodeManifest(stored);
        } catch (e) {
          throw new CorruptObjectError(key, (e as Error).message);
        }
        if (m.hash !== hash) throw new CorruptObjectError(key, 'manifest of another blob');
        return m;
      });
      if (Buffer.isBuffer(r)) this.blobCache.set(hash, r);
      else this.manifests.set(hash, r);
      return r;
    });
  }

  /** One verified chunk; concurrent readers share one fetch. */
  private chunk(c: ChunkRef, cache = true): Promise<Buffer> {
    const hit = this.blobCache.get(c.hash);
    if (hit) return Promise.resolve(hit);
    return this.once(`c:${c.hash}`, async () => {
      const key = this.key(objectRelKey('blobs', c.hash));
      const data = await this.fetchChecked(key, (stored) => decodeVerified(key, c.hash, stored));
      if (data.length !== c.length) throw new CorruptObjectError(key, 'chunk length differs from its manifest');
      if (cache) this.blobCache.set(c.hash, data);
      return data;
    });
  }

  /**
   * After a sequential read ending at `end`, fetches the next readAheadBytes of chunks in the background,
   * and drops from RAM the chunks the stream passed SEQ_SLACK ago (drop-behind): one large streaming read
   * then neither flushes the hot cache nor keeps taking fresh memory, like the ring buffer PostgreSQL gives
   * a sequential scan. Dropped chunks stay in the tiers below (disk cache, page cache).
   */
  private readAhead(m: Manifest, offset: number, end: number): void {
    if (this.readAheadBytes <= 0) return;
    const s = this.streams.get(m.hash);
    const goesOn = s !== undefined && offset >= s.end - SEQ_SLACK && offset <= s.end + SEQ_SLACK;
    // a first read at offset 0 starts a stream, as in Linux's initial readahead
    const seq = goesOn || (s === undefined && offset === 0);
    let dropped = goesOn ? s.dropped : 0;
    for (; goesOn && dropped < m.chunks.length && m.starts[dropped]! + m.chunks[dropped]!.length <= offset - SEQ_SLACK; dropped++) {
      this.blobCache.delete(m.chunks[dropped]!.hash);
    }
    this.streams.set(m.hash, { end: goesOn ? Math.max(s.end, end) : end, dropped });
    if (!seq || end >= m.size) return;
    const to = Math.min(m.size, end + this.readAheadBytes);
    for (let i = chunkIndexAt(m, end); i < m.chunks.length && m.starts[i]! < to; i++) {
      const c = m.chunks[i]!;
      if (this.blobCache.has(c.hash) || this.inflightGets.has(`c:${c.hash}`)) continue;
      if (this.prefetching >= PREFETCH_MAX) return;
      this.prefetching++;
      this.chunk(c)
        .catch((e: unknown) => this.log?.debug({ err: e, blob: m.hash, chunk: c.hash }, 'read-ahead failed'))
        .finally(() => { this.prefetching--; });
    }
  }

  async hasBlob(hash: string): Promise<boolean> {
    validateHash(hash);
    const key = this.key(objectRelKey('blobs', hash));
    if (this.present.has(key) || this.manifests.has(hash) || this.blobCache.has(hash)) return true;
    const found = await this.backend.has(key);
    if (found) this.present.set(key, true);
    return found;
  }

  // ---- directory trees (see tree.ts) ----

  /** Stores a directory; entries in any order; returns the root hash (EMPTY_TREE for []). */
  writeDir(entries: readonly TreeEntry[]): Promise<string> {
    return this.trees.writeDir(entries);
  }

  /** All entries (frozen), in an order fixed by the hash. */
  listDir(hash: string): Promise<TreeEntry[]> {
    return this.trees.listDir(hash);
  }

  lookupDir(hash: string, name: string): Promise<TreeEntry | null> {
    return this.trees.lookupDir(hash, name);
  }

  /** null deletes; the result equals writeDir of the final entry set. */
  updateDir(hash: string, changes: ReadonlyMap<string, TreeEntry | null>): Promise<string> {
    return this.trees.updateDir(hash, changes);
  }

  /** One directory level, sorted by name. */
  diffDir(a: string, b: string): Promise<DirChange[]> {
    return this.trees.diffDir(a, b);
  }

  private async readNode(hash: string): Promise<TreeNode> {
    if (hash === EMPTY_TREE) return EMPTY_LEAF;
    const hit = this.nodeCache.get(hash);
    if (hit) return hit;
    return this.once(`t:${hash}`, async () => {
      const key = this.key(objectRelKey('trees', hash));
      const bytes = await this.fetchVerified(key, hash);
      let node: TreeNode;
      try {
        node = decodeNode(bytes);
      } catch (e) {
        throw new CorruptObjectError(key, `undecodable tree node: ${(e as Error).message}`);
      }
      this.nodeCache.set(hash, node);
      return node;
    });
  }

  private async writeNode(node: TreeNode): Promise<string> {
    const bytes = encodeNode(node);
    const hash = sha256Hex(bytes);
    await this.putObject(this.key(objectRelKey('trees', hash)), () => encodeStored(bytes));
    this.nodeCache.set(hash, node);
    return hash;
  }

  // ---- heads ----

  /** The current head, or null when the project has none yet. */
  async getHead(): Promise<HeadState | null> {
    const key = this.key(HEAD_REF_REL_KEY);
    const got = await this.backend.getRef(key);
    if (!got) return null;
    let ref: HeadRef;
    try {
      ref = JSON.parse(got.data.toString('utf8')) as HeadRef;
    } catch {
      throw new CorruptObjectError(key, 'head ref is not JSON');
    }
    if (!Number.isSafeInteger(ref.generation) || typeof ref.nonce !== 'string' || typeof ref.head !== 'string' || !isHash(ref.head)) {
      throw new CorruptObjectError(key, 'malformed head ref');
    }
    const record = await this.getHeadRecord(ref.head);
    return { ref, record, version: got.version, hash: ref.head };
  }

  /**
   * Stores record, then moves the head ref to it if the ref is still at expectVersion
   * (null: no head yet). Resolves false when another writer got there first.
   */
  async casHead(expectVersion: string | null, prevGeneration: number, record: HeadRecord): Promise<boolean> {
    const head = await this.putHeadRecord(record);
    const ref: HeadRef = { generation: prevGeneration + 1, nonce: randomBytes(8).toString('hex'), head };
    return this.backend.casRef(this.key(HEAD_REF_REL_KEY), Buffer.from(JSON.stringify(ref)), expectVersion);
  }

  /** Stores an immutable head record as canonical JSON; returns its hash. */
  async putHeadRecord(record: HeadRecord): Promise<string> {
    const canonical = canonicalHeadRecord(record);
    const bytes = Buffer.from(JSON.stringify(canonical), 'utf8');
    const hash = sha256Hex(bytes);
    await this.putObject(this.key(objectRelKey('heads', hash)), () => bytes);
    this.headCache.set(hash, canonical);
    return hash;
  }

  async getHeadRecord(hash: string): Promise<HeadRecord> {
    validateHash(hash);
    const hit = this.headCache.get(hash);
    if (hit) return hit;
    const key = this.key(objectRelKey('heads', hash));
    const bytes = await this.backend.get(key);
    if (!bytes) throw new MissingObjectError(key);
    if (sha256Hex(bytes) !== hash) throw new CorruptObjectError(key, 'hash mismatch');
    let record: HeadRecord;
    try {
      record = canonicalHeadRecord(JSON.parse(bytes.toString('utf8')) as HeadRecord);
    } catch (e) {
      throw new CorruptObjectError(key, (e as Error).message);
    }
    this.headCache.set(hash, record);
    return record;
  }

  // ---- JSON documents (mutable, unverified) ----

  async putJson(relKey: string, obj: unknown): Promise<void> {
    await this.backend.put(this.key(relKey), Buffer.from(JSON.stringify(obj), 'utf8'));
  }

  async getJson<T>(relKey: string): Promise<T | null> {
    const key = this.key(relKey);
    const bytes = await this.backend.get(key);
    if (!bytes) return null;
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch {
      throw new CorruptObjectError(key, 'not JSON');
    }
  }

  // ---- helpers ----

  /** Uploads an immutable object unless it is known or found to exist; concurrent puts share one. */
  private putObject(key: string, encode: () => Buffer): Promise<void> {
    return this.putShared(key, () => this.putLimiter.run(async () => {
      if (!(await this.existsFresh(key))) await this.backend.put(key, encode());
    }));
  }

  /**
   * True when the object exists. An existing object older than FRESHEN_AFTER_MS may be garbage that gc
   * is about to delete, so reusing it first resets its age (touch), as git does with loose objects.
   */
  private async existsFresh(key: string): Promise<boolean> {
    if (!this.backend.stat) return this.backend.has(key);
    const st = await this.backend.stat(key);
    if (!st) return false;
    if (Date.now() - st.mtimeMs < FRESHEN_AFTER_MS) return true;
    if (!this.backend.touch) return false; // put it again: that resets the age too
    try {
      await this.backend.touch(key);
      return true;
    } catch {
      return false; // e.g. S3 unreachable: put it again (queued), which resets the age as well
    }
  }

  /** Runs put unless the key is known to exist; concurrent callers for one key share it. */
  private putShared(key: string, put: () => Promise<void>): Promise<void> {
    if (this.present.has(key)) return Promise.resolve();
    let p = this.inflightPuts.get(key);
    if (!p) {
      p = put().then(() => { this.present.set(key, true); });
      this.inflightPuts.set(key, p);
      p.then(() => this.inflightPuts.delete(key), () => this.inflightPuts.delete(key));
    }
    return p;
  }

  /** get + decode + verify SHA-256 of the content. */
  private fetchVerified(key: string, hash: string): Promise<Buffer> {
    return this.fetchChecked(key, (stored) => decodeVerified(key, hash, stored));
  }

  /**
   * Gets an immutable object and checks it with `check` (which throws CorruptObjectError on a mismatch).
   * A backend with a cache tier hands over its cached copy unchecked, since this check covers it; a copy
   * that fails is discarded and the object fetched again through the tier's own checks.
   */
  private async fetchChecked<T>(key: string, check: (stored: Buffer) => T): Promise<T> {
    const b = this.backend;
    const unchecked = b.getUnchecked !== undefined && b.discard !== undefined;
    const stored = await (unchecked ? b.getUnchecked!(key) : b.get(key));
    if (!stored) throw new MissingObjectError(key);
    let out: T;
    try {
      out = check(stored);
    } catch (e) {
      if (!unchecked || !(e instanceof CorruptObjectError)) throw e;
      this.log?.warn({ key, err: e.message }, 'corrupt cached object dropped; fetching it again');
      await b.discard!(key);
      const again = await b.get(key);
      if (!again) throw new MissingObjectError(key);
      out = check(again);
    }
    this.present.set(key, true);
    return out;
  }

  /** Runs fn once for concurrent callers with the same id. */
  private once<T>(id: string, fn: () => Promise<T>): Promise<T> {
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
function decodeVerified(key: string, hash: string, stored: Buffer): Buffer {
  let data: Buffer;
  try {
    data = decodeStored(stored);
  } catch (e) {
    throw new CorruptObjectError(key, (e as Error).message);
  }
  if (sha256Hex(data) !== hash) throw new CorruptObjectError(key, 'hash mismatch');
  return data;
}

/** The parts of [offset, end) in consecutive chunks whose first starts at base. */
function sliceRange(parts: Buffer[], base: number, offset: number, end: number): Buffer[] {
  const out: Buffer[] = [];
  let at = base;
  for (const p of parts) {
    const from = Math.max(offset, at);
    const to = Math.min(end, at + p.length);
    if (to > from) out.push(p.subarray(from - at, to - at));
    at += p.length;
  }
  return out;
}

/** One Buffer of slices (copied only when there are several). */
function joinSlices(parts: Buffer[]): Buffer {
  if (parts.length === 1) return parts[0]!;
  return parts.length === 0 ? Buffer.alloc(0) : Buffer.concat(parts);
}

/** Validates and rebuilds a head record with its keys in canonical order. */
function canonicalHeadRecord(r: HeadRecord): HeadRecord {
  const ok = typeof r === 'object' && r !== null && isHash(r.tree) && Number.isSafeInteger(r.nextIno) && r.nextIno >= 0 &&
    (r.parent === null || isHash(r.parent)) && (r.session === null || typeof r.session === 'string') &&
    typeof r.message === 'string' && typeof r.time === 'string';
  if (!ok) throw new TypeError('malformed head record');
  return Object.freeze({ tree: r.tree, nextIno: r.nextIno, parent: r.parent, session: r.session, message: r.message, time: r.time });
}
