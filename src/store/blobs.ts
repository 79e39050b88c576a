// Blobs: file contents, content-addressed by SHA-256. Content above CHUNK_THRESHOLD is cut by
// content-defined chunking (chunker.ts); each chunk is an ordinary blob and blobs/<sha256(content)> holds a
// manifest (manifest.ts), written after its chunks. An edit in the middle of a large file therefore
// uploads only the chunks near it. getBlob assembles and verifies the whole content; readSlices fetches
// only the chunks a range needs (each verified by its own hash), and sequential reads fetch a few MiB ahead
// into the RAM cache.
import { LRUCache } from 'lru-cache';
import { checkedContent, checkedHash, decodeStoredInto, encodeStored, FORMAT_ZSTD, sha256Hex } from './codec.js';
import { ChunkPool, LeaseSet, type LeasedSlices } from './chunk-pool.js';
import { CHUNK_MAX, cutLength } from './chunker.js';
import {
  CHUNK_THRESHOLD,
  chunkIndexAt,
  decodeManifest,
  encodeManifest,
  isManifest,
  makeManifest,
  type ChunkRef,
  type Manifest,
} from './manifest.js';
import { CorruptObjectError } from './errors.js';
import { objectRelKey, validateHash } from './keys.js';
import { decodeVerified, type ObjectIo } from './object-io.js';
import { streamChunks, type ContentReader } from './chunk-stream.js';

/** Reads within this distance of where the last read of a blob ended count as sequential. */
const SEQ_SLACK = 4 * 1024 * 1024;
/** Chunks fetched concurrently by read-ahead, and by getBlob while assembling. */
const PREFETCH_MAX = 8;

export interface BlobStoreOptions {
  /** RAM cache for decoded blobs, in bytes */
  cacheBytes: number;
  /** How far sequential reads of a chunked blob fetch ahead, in bytes (0: never). */
  readAheadBytes: number;
  /** Bytes of chunk buffers kept for reuse (chunk-pool.ts); default half of cacheBytes, at most 64 MiB. */
  poolBytes?: number;
}

export class BlobStore {
  private readonly blobCache: LRUCache<string, Buffer>;
  /** Manifests of chunked blobs, sized by chunk count. */
  private readonly manifests = new LRUCache<string, Manifest>({ maxSize: 200_000, sizeCalculation: (m) => m.chunks.length + 1 });
  /** Where the last read of each chunked blob ended (sequential detection). */
  private readonly streams = new LRUCache<string, { end: number; dropped: number }>({ max: 1024 });
  private prefetching = 0;
  private readonly readAheadBytes: number;
  /** Chunk buffers: the RAM cache holds one reference to each chunk it caches, READs lease them. */
  readonly pool: ChunkPool;

  /** Forgets cached content and manifests (after a gc: what they prove may be gone from the backend). */
  dropCaches(): void {
    this.blobCache.clear();
    this.manifests.clear();
  }

  constructor(
    private readonly io: ObjectIo,
    opts: BlobStoreOptions,
  ) {
    const cacheBytes = Math.max(1, opts.cacheBytes);
    this.blobCache = new LRUCache({
      maxSize: cacheBytes,
      // a whole chunk must fit, or read-ahead and JUKEBOX retries could never hit
      maxEntrySize: Math.min(cacheBytes, Math.max(CHUNK_MAX, Math.floor(cacheBytes / 4))),
      sizeCalculation: (b) => Math.max(1, b.length),
      // the cache's reference to a pooled chunk buffer (a no-op for any other buffer)
      dispose: (b) => this.pool.release(b),
    });
    this.readAheadBytes = opts.readAheadBytes;
    this.pool = new ChunkPool(opts.poolBytes ?? Math.min(64 * 1024 * 1024, Math.floor(cacheBytes / 2)));
  }

  /** Stores content (deduplicated; large content as chunks); returns its SHA-256 hex. */
  async putBlob(data: Buffer): Promise<string> {
    const hash = sha256Hex(data);
    const key = this.io.key(objectRelKey('blobs', hash));
    if (data.length <= CHUNK_THRESHOLD) await this.io.putObject(key, () => encodeStored(data));
    else await this.io.putBytes(key, () => this.putChunked(key, hash, data));
    return hash;
  }

  /** Stores content of `size` bytes read piece by piece (see chunk-stream.ts): memory stays bounded however
   *  large the content is. Same hash, chunks and manifest as putBlob of the whole content. */
  async putBlobFrom(size: number, read: ContentReader, inFlight = 4): Promise<string> {
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
      const p: Promise<void> = this.io
        .putObject(this.io.key(objectRelKey('blobs', h)), () => encodeStored(part))
        .finally(() => puts.delete(p));
      puts.add(p);
      if (puts.size >= inFlight) await Promise.race(puts); // at most inFlight chunks held for upload
    });
    await Promise.all(puts);
    const key = this.io.key(objectRelKey('blobs', hash));
    await this.io.putBytes(key, () =>
      this.io.putLimiter.run(async () => {
        if (await this.io.existsFresh(key)) return;
        const m = makeManifest(hash, chunks);
        await this.io.write(key, encodeManifest(m));
        this.manifests.set(hash, m);
      }),
    );
    return hash;
  }

  /** Chunks first (each deduplicated), then the manifest, so a manifest never names a missing chunk. */
  private async putChunked(key: string, hash: string, data: Buffer): Promise<void> {
    if (await this.io.putLimiter.run(() => this.io.existsFresh(key))) return;
    const chunks: ChunkRef[] = [];
    const puts: Promise<void>[] = [];
    for (let pos = 0; pos < data.length;) {
      const part = data.subarray(pos, pos + cutLength(data, pos, data.length));
      pos += part.length;
      const h = sha256Hex(part);
      chunks.push({ hash: h, length: part.length });
      puts.push(this.io.putObject(this.io.key(objectRelKey('blobs', h)), () => encodeStored(part)));
      if (chunks.length % 16 === 0) await new Promise((r) => setImmediate(r)); // let other calls run
    }
    await Promise.all(puts);
    const m = makeManifest(hash, chunks);
    await this.io.putLimiter.run(() => this.io.write(key, encodeManifest(m)));
    this.manifests.set(hash, m);
  }

  /** Verified content. The Buffer may be shared with the cache: do not modify it. */
  async getBlob(hash: string): Promise<Buffer> {
    const r = await this.resolve(hash);
    // a blob stored whole may be the same object as a cached chunk (4 MiB of zeros): the caller's own copy
    if (Buffer.isBuffer(r)) return this.pool.isPooled(r) ? Buffer.from(r) : r;
    return (
      this.blobCache.get(hash) ??
      this.io.once(`w:${hash}`, async () => {
        const out = Buffer.allocUnsafe(r.size);
        let next = 0;
        const worker = async () => {
          for (let i = next++; i < r.chunks.length; i = next++) (await this.chunk(r.chunks[i]!, false)).copy(out, r.starts[i]);
        };
        await Promise.all(Array.from({ length: Math.min(PREFETCH_MAX, r.chunks.length) }, worker));
        if (sha256Hex(out) !== hash)
          throw new CorruptObjectError(this.io.key(objectRelKey('blobs', hash)), 'chunks do not match the content hash');
        this.blobCache.set(hash, out);
        return out;
      })
    );
  }

  /** Verified bytes [offset, offset + length) of a blob (shorter at its end), fetching only the chunks needed.
   *  The caller's own bytes (a copy when they were a pooled chunk buffer's). */
  async readBlob(hash: string, offset: number, length: number): Promise<Buffer> {
    const s = await this.readSlices(hash, offset, length);
    try {
      const one = s.parts.length === 1 ? s.parts[0]! : null;
      return one && this.pool.isPooled(one) ? Buffer.from(one) : joinSlices(s.parts);
    } finally {
      s.release();
    }
  }

  /** readBlob as consecutive slices of cached chunks (no copy; do not modify them), leased: the chunks'
   *  buffers are not reused before `release`. */
  async readSlices(hash: string, offset: number, length: number): Promise<LeasedSlices> {
    const hit = this.cachedSlices(hash, offset, length);
    if (hit) return hit;
    const r = await this.resolve(hash);
    const leases = new LeaseSet(this.pool);
    // leased too: a blob stored whole may be the same object as a cached chunk, in a pooled buffer
    if (Buffer.isBuffer(r)) return { parts: [leases.add(r).subarray(offset, offset + length)], release: leases.release };
    const end = Math.min(r.size, offset + length);
    if (offset >= end) return { parts: [], release: leases.release };
    const first = chunkIndexAt(r, offset);
    const parts: Promise<Buffer>[] = [];
    // each chunk leased as soon as it arrives (a microtask): an eviction in a later turn cannot reuse it
    for (let i = first; i <= chunkIndexAt(r, end - 1); i++) parts.push(this.chunk(r.chunks[i]!).then(leases.add));
    this.readAhead(r, offset, end);
    let got: Buffer[];
    try {
      got = await Promise.all(parts);
    } catch (e) {
      leases.release();
      throw e;
    }
    return { parts: sliceRange(got, r.starts[first]!, offset, end), release: leases.release };
  }

  /** readSlices without I/O: null unless the blob or every chunk the range needs is in RAM. */
  cachedSlices(hash: string, offset: number, length: number): LeasedSlices | null {
    const r = this.manifests.get(hash) ?? this.blobCache.get(hash);
    if (!r) return null;
    const leases = new LeaseSet(this.pool);
    // leased too: a blob stored whole may be the same object as a cached chunk, in a pooled buffer
    if (Buffer.isBuffer(r)) return { parts: [leases.add(r).subarray(offset, offset + length)], release: leases.release };
    const end = Math.min(r.size, offset + length);
    if (offset >= end) return { parts: [], release: leases.release };
    const first = chunkIndexAt(r, offset);
    const parts: Buffer[] = [];
    for (let i = first; i <= chunkIndexAt(r, end - 1); i++) {
      const b = this.blobCache.get(r.chunks[i]!.hash);
      if (!b) return null;
      parts.push(b);
    }
    for (const b of parts) leases.add(b);
    this.readAhead(r, offset, end);
    return { parts: sliceRange(parts, r.starts[first]!, offset, end), release: leases.release };
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
    return this.io.once(`b:${hash}`, async () => {
      const key = this.io.key(objectRelKey('blobs', hash));
      const r = await this.io.fetchChecked(key, (stored): Manifest | Buffer => {
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

  /** One verified chunk; concurrent readers share one fetch. One to cache is read into a pooled buffer (its
   *  reference then the cache's); the caller must use it at once or lease it (pool.lease) in the same turn. */
  private chunk(c: ChunkRef, cache = true): Promise<Buffer> {
    const hit = this.blobCache.get(c.hash);
    if (hit) return Promise.resolve(hit);
    return this.io.once(`c:${c.hash}`, async () => {
      const key = this.io.key(objectRelKey('blobs', c.hash));
      const pool = cache ? this.pool : null;
      const data = await this.io.fetchChecked(key, (stored) => this.decodeChunk(key, c, stored, pool), pool?.take);
      if (data.length !== c.length) throw new CorruptObjectError(key, 'chunk length differs from its manifest');
      if (cache) this.blobCache.set(c.hash, data);
      return data;
    });
  }

  /** decodeVerified, zstd content decompressed into a pooled buffer (the stored bytes' buffer given back). */
  private decodeChunk(key: string, c: ChunkRef, stored: Buffer, pool: ChunkPool | null): Buffer {
    if (!pool || stored[0] !== FORMAT_ZSTD || checkedContent(stored, c.hash)) return decodeVerified(key, c.hash, stored);
    const out = pool.take(c.length);
    let n: number;
    try {
      n = decodeStoredInto(stored, out);
    } catch (e) {
      throw new CorruptObjectError(key, (e as Error).message);
    }
    pool.release(stored);
    if (n !== c.length) throw new CorruptObjectError(key, 'chunk length differs from its manifest');
    if (checkedHash(stored) !== c.hash && sha256Hex(out) !== c.hash) throw new CorruptObjectError(key, 'hash mismatch');
    return out;
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
      if (this.blobCache.has(c.hash) || this.io.inFlight(`c:${c.hash}`)) continue;
      if (this.prefetching >= PREFETCH_MAX) return;
      this.prefetching++;
      this.chunk(c)
        .catch((e: unknown) => this.io.log?.debug({ err: e, blob: m.hash, chunk: c.hash }, 'read-ahead failed'))
        .finally(() => {
          this.prefetching--;
        });
    }
  }

  async hasBlob(hash: string): Promise<boolean> {
    validateHash(hash);
    const key = this.io.key(objectRelKey('blobs', hash));
    if (this.io.isPresent(key) || this.manifests.has(hash) || this.blobCache.has(hash)) return true;
    const found = await this.io.backend.has(key);
    if (found) this.io.markPresent(key);
    return found;
  }
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
