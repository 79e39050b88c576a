// One project's objects: blobs, directory trees, head records and the head ref, plus JSON documents,
// everything under projects/<org>/<name>/ (layout in types.ts). A facade over one module per kind:
// blobs.ts (content, chunking, read-ahead), tree.ts (directory tries), heads.ts (history and the head
// ref), documents.ts (mutable JSON); object-io.ts is the verified, deduplicated I/O they share.
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { HeadRecord } from './head-record.js';
import type { ObjectBackend } from './object-backend.js';
import type { TreeEntry } from './tree-entry.js';
import { encodeStored, sha256Hex } from './codec.js';
import { CorruptObjectError } from './errors.js';
import { objectRelKey, projectPrefix } from './keys.js';
import { EMPTY_LEAF, EMPTY_TREE, decodeNode, encodeNode, type TreeNode } from './tree-codec.js';
import { TreeStore, type DirChange } from './tree.js';
import { ObjectIo } from './object-io.js';
import { BlobStore } from './blobs.js';
import type { ContentReader } from './chunk-stream.js';
import type { ChunkPoolStats, LeasedSlices } from './chunk-pool.js';
import { HeadStore, type HeadState } from './heads.js';
import { DocumentStore } from './documents.js';

export { FRESHEN_AFTER_MS, SAFE_GC_GRACE_MS } from './object-io.js';
export { projectPrefix, validateProject, isValidProject } from './keys.js';
export type { HeadState } from './heads.js';

export interface ObjectStoreOptions {
  /** RAM cache for decoded blobs, in bytes (default 64 MiB). */
  cacheBytes?: number;
  /** RAM cache for decoded tree nodes and listings, in entries (default 200 000 each). */
  treeCacheEntries?: number;
  /** Concurrent backend writes (default 8). */
  putConcurrency?: number;
  /** How far sequential reads of a chunked blob fetch ahead, in bytes (default 8 MiB; 0: never). */
  readAheadBytes?: number;
  /** Background failures (read-ahead) are logged here at debug level. */
  log?: Logger;
}

/** A backend that stores content given raw in the stored format itself (encodeStored), off this thread. */
interface ContentPut {
  putContent(key: string, content: Buffer): Promise<void>;
}

export class ObjectStore {
  /** "projects/<org>/<name>/" */
  readonly prefix: string;
  private readonly io: ObjectIo;
  readonly blobs: BlobStore;
  readonly heads: HeadStore;
  readonly documents: DocumentStore;
  private readonly nodeCache: LRUCache<string, TreeNode>;
  private readonly trees: TreeStore;

  constructor(
    readonly backend: ObjectBackend,
    readonly project: string,
    opts: ObjectStoreOptions = {},
  ) {
    this.prefix = projectPrefix(project);
    this.io = new ObjectIo(backend, this.prefix, opts.putConcurrency ?? 8, opts.log);
    this.blobs = new BlobStore(this.io, {
      cacheBytes: opts.cacheBytes ?? 64 * 1024 * 1024,
      readAheadBytes: opts.readAheadBytes ?? 8 * 1024 * 1024,
    });
    this.heads = new HeadStore(this.io);
    this.documents = new DocumentStore(this.io);
    const treeEntries = opts.treeCacheEntries ?? 200_000;
    this.nodeCache = new LRUCache({
      maxSize: treeEntries,
      sizeCalculation: (n) => (n.type === 'leaf' ? n.entries.length + 1 : 1),
    });
    this.trees = new TreeStore(
      { readNode: (h) => this.readNode(h), writeNode: (n) => this.writeNode(n) },
      { listCacheEntries: treeEntries },
    );
  }

  /** Full backend key of a key relative to the project. */
  key(relKey: string): string {
    return this.io.key(relKey);
  }

  /** Runs fn with the objects it writes made durable together when it ends (ObjectIo.batch); fn must write
   *  objects only, nothing that names them (a seal). */
  batch<T>(fn: () => Promise<T>): Promise<T> {
    return this.io.batch(fn);
  }

  // ---- blobs (blobs.ts) ----

  /** Stores content (deduplicated; large content as chunks); returns its SHA-256 hex. */
  putBlob(data: Buffer): Promise<string> {
    return this.blobs.putBlob(data);
  }

  /** putBlob of content read piece by piece, with bounded memory (sealing a file of any size). */
  putBlobFrom(size: number, read: ContentReader, inFlight?: number): Promise<string> {
    return this.blobs.putBlobFrom(size, read, inFlight);
  }
  /** Verified content. The Buffer may be shared with the cache: do not modify it. */
  getBlob(hash: string): Promise<Buffer> {
    return this.blobs.getBlob(hash);
  }
  /** Verified bytes [offset, offset + length) of a blob (shorter at its end), fetching only the chunks needed. */
  readBlob(hash: string, offset: number, length: number): Promise<Buffer> {
    return this.blobs.readBlob(hash, offset, length);
  }
  /** readBlob as consecutive slices of cached chunks (no copy; do not modify them), leased until `release`. */
  readSlices(hash: string, offset: number, length: number): Promise<LeasedSlices> {
    return this.blobs.readSlices(hash, offset, length);
  }
  /** readSlices without I/O: null unless the blob or every chunk the range needs is in RAM. */
  cachedSlices(hash: string, offset: number, length: number): LeasedSlices | null {
    return this.blobs.cachedSlices(hash, offset, length);
  }
  /** The chunk buffer pool's counters (reuse, idle bytes). */
  chunkPoolStats(): Readonly<ChunkPoolStats> {
    return this.blobs.pool.stats;
  }
  /** The chunks of a chunked blob in order, or null for a blob stored whole. */
  blobChunks(hash: string, sizeHint?: number): Promise<{ hash: string; length: number }[] | null> {
    return this.blobs.blobChunks(hash, sizeHint);
  }
  /** Content size, from the manifest for a chunked blob. */
  blobSize(hash: string): Promise<number> {
    return this.blobs.blobSize(hash);
  }
  hasBlob(hash: string): Promise<boolean> {
    return this.blobs.hasBlob(hash);
  }

  /** Records that the object at relKey is stored and durable (a bulk writer, import-git, wrote it through
   *  its own backend and synced it): a put of it here is skipped instead of looking for it, which on a local
   *  store means reading the index of every pack. */
  markStored(relKey: string): void {
    this.io.markPresent(this.io.key(relKey));
  }

  /** Forgets which objects exist (and the content that proves it): after a garbage collection has deleted
   *  objects, a put must look at the backend again instead of trusting that they are there. */
  dropCaches(): void {
    this.io.forgetPresent();
    this.blobs.dropCaches();
    this.nodeCache.clear();
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
    return this.io.once(`t:${hash}`, async () => {
      const key = this.io.key(objectRelKey('trees', hash));
      const bytes = await this.io.fetchVerified(key, hash);
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
    const key = this.io.key(objectRelKey('trees', hash));
    const b = this.backend as Partial<ContentPut>;
    // a bulk writer (import-git's) compresses in its own threads and drops a key it already holds itself:
    // no shared-put bookkeeping (a promise chain and a cache entry per node) on the importer's main thread
    if (typeof b.putContent === 'function') await b.putContent(key, bytes);
    else await this.io.putObject(key, () => encodeStored(bytes));
    this.nodeCache.set(hash, node);
    return hash;
  }

  // ---- heads (heads.ts) ----

  /** The current head, or null when the project has none yet. */
  getHead(): Promise<HeadState | null> {
    return this.heads.getHead();
  }
  /** Stores record, then moves the head ref to it if the ref is still at expectVersion (null: no head yet). */
  casHead(expectVersion: string | null, prevGeneration: number, record: HeadRecord): Promise<boolean> {
    return this.heads.casHead(expectVersion, prevGeneration, record);
  }
  /** Stores an immutable head record as canonical JSON; returns its hash. */
  putHeadRecord(record: HeadRecord, now = false): Promise<string> {
    return this.heads.putHeadRecord(record, now);
  }
  getHeadRecord(hash: string): Promise<HeadRecord> {
    return this.heads.getHeadRecord(hash);
  }

  // ---- JSON documents (documents.ts) ----

  putJson(relKey: string, obj: unknown): Promise<void> {
    return this.documents.putJson(relKey, obj);
  }
  getJson<T>(relKey: string): Promise<T | null> {
    return this.documents.getJson<T>(relKey);
  }
}
