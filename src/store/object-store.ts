// One project's objects: blobs, directory trees, head records and the head ref, plus JSON docs.
// Everything under projects/<org>/<name>/ (layout in types.ts). Reads are verified against their hash.
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { HeadRecord, HeadRef, ObjectBackend, TreeEntry } from './types.js';
import { decodeStored, encodeStored, sha256Hex } from './codec.js';
import { CorruptObjectError, MissingObjectError } from './errors.js';
import { HEAD_REF_REL_KEY, isHash, objectRelKey, projectPrefix, validateHash, validateRelKey } from './keys.js';
import { Limiter } from './limiter.js';
import { EMPTY_LEAF, EMPTY_TREE, decodeNode, encodeNode, type TreeNode } from './tree-codec.js';
import { TreeStore, type DirChange } from './tree.js';

export { projectPrefix, validateProject, isValidProject } from './keys.js';

export interface ObjectStoreOptions {
  /** RAM cache for decoded blobs, in bytes (default 64 MiB). */
  cacheBytes?: number;
  /** RAM cache for decoded tree nodes and listings, in entries (default 200 000 each). */
  treeCacheEntries?: number;
  /** Concurrent backend writes (default 8). */
  putConcurrency?: number;
}

export interface HeadState { ref: HeadRef; record: HeadRecord; version: string; hash: string }

export class ObjectStore {
  /** "projects/<org>/<name>/" */
  readonly prefix: string;
  private readonly blobCache: LRUCache<string, Buffer>;
  private readonly nodeCache: LRUCache<string, TreeNode>;
  private readonly headCache = new LRUCache<string, HeadRecord>({ max: 1024 });
  /** Object keys known to exist in the backend (objects are immutable). */
  private readonly present = new LRUCache<string, true>({ max: 200_000 });
  private readonly inflightGets = new Map<string, Promise<unknown>>();
  private readonly inflightPuts = new Map<string, Promise<void>>();
  private readonly putLimiter: Limiter;
  private readonly trees: TreeStore;

  constructor(readonly backend: ObjectBackend, readonly project: string, opts: ObjectStoreOptions = {}) {
    this.prefix = projectPrefix(project);
    const cacheBytes = Math.max(1, opts.cacheBytes ?? 64 * 1024 * 1024);
    this.blobCache = new LRUCache({
      maxSize: cacheBytes,
      maxEntrySize: Math.max(1, Math.floor(cacheBytes / 4)),
      sizeCalculation: (b) => Math.max(1, b.length),
    });
    const treeEntries = opts.treeCacheEntries ?? 200_000;
    this.nodeCache = new LRUCache({
      maxSize: treeEntries,
      sizeCalculation: (n) => (n.type === 'leaf' ? n.entries.length + 1 : 1),
    });
    this.putLimiter = new Limiter(opts.putConcurrency ?? 8);
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

  /** Stores content (deduplicated); returns its SHA-256 hex. */
  async putBlob(data: Buffer): Promise<string> {
    const hash = sha256Hex(data);
    await this.putObject(this.key(objectRelKey('blobs', hash)), () => encodeStored(data));
    return hash;
  }

  /** Verified content. The Buffer may be shared with the cache: do not modify it. */
  async getBlob(hash: string): Promise<Buffer> {
    validateHash(hash);
    const hit = this.blobCache.get(hash);
    if (hit) return hit;
    return this.once(`b:${hash}`, async () => {
      const key = this.key(objectRelKey('blobs', hash));
      const data = await this.fetchVerified(key, hash);
      this.blobCache.set(hash, data);
      return data;
    });
  }

  async hasBlob(hash: string): Promise<boolean> {
    validateHash(hash);
    const key = this.key(objectRelKey('blobs', hash));
    if (this.present.has(key) || this.blobCache.has(hash)) return true;
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
  private async putObject(key: string, encode: () => Buffer): Promise<void> {
    if (this.present.has(key)) return;
    let p = this.inflightPuts.get(key);
    if (!p) {
      p = this.putLimiter.run(async () => {
        if (!(await this.backend.has(key))) await this.backend.put(key, encode());
        this.present.set(key, true);
      });
      this.inflightPuts.set(key, p);
      p.then(() => this.inflightPuts.delete(key), () => this.inflightPuts.delete(key));
    }
    await p;
  }

  /** get + decode + verify SHA-256 of the content. */
  private async fetchVerified(key: string, hash: string): Promise<Buffer> {
    const stored = await this.backend.get(key);
    if (!stored) throw new MissingObjectError(key);
    let data: Buffer;
    try {
      data = decodeStored(stored);
    } catch (e) {
      throw new CorruptObjectError(key, (e as Error).message);
    }
    if (sha256Hex(data) !== hash) throw new CorruptObjectError(key, 'hash mismatch');
    this.present.set(key, true);
    return data;
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

/** Validates and rebuilds a head record with its keys in canonical order. */
function canonicalHeadRecord(r: HeadRecord): HeadRecord {
  const ok = typeof r === 'object' && r !== null && isHash(r.tree) && Number.isSafeInteger(r.nextIno) && r.nextIno >= 0 &&
    (r.parent === null || isHash(r.parent)) && (r.session === null || typeof r.session === 'string') &&
    typeof r.message === 'string' && typeof r.time === 'string';
  if (!ok) throw new TypeError('malformed head record');
  return Object.freeze({ tree: r.tree, nextIno: r.nextIno, parent: r.parent, session: r.session, message: r.message, time: r.time });
}
