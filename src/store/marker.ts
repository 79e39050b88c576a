// The mark phase of garbage collection: everything reachable from head records, trees and blobs given as roots.
// Each tree node (split nodes included) and each blob is visited once, however many heads share it;
// reads go through a Limiter. Absent objects are recorded in `missing`, never thrown.
import type { ObjectStore } from './object-store.js';
import { decodeStored, sha256Hex } from './codec.js';
import { CorruptObjectError, MissingObjectError } from './errors.js';
import { isHash, objectRelKey } from './keys.js';
import { Limiter } from './limiter.js';
import { EMPTY_TREE, decodeNode, type TreeNode } from './tree-codec.js';

export class Marker {
  readonly heads = new Set<string>();
  readonly trees = new Set<string>();
  readonly blobs = new Set<string>();
  /** keys (relative to the project) of referenced objects that could not be read */
  readonly missing = new Set<string>();
  private readonly limiter: Limiter;

  constructor(
    readonly store: ObjectStore,
    concurrency = 16,
  ) {
    this.limiter = new Limiter(concurrency);
  }

  /** A head record, its tree and its ancestors. */
  async head(hash: string): Promise<void> {
    if (this.heads.has(hash)) return;
    this.heads.add(hash);
    let rec;
    try {
      rec = await this.limiter.run(() => this.store.getHeadRecord(hash));
    } catch (e) {
      if (!(e instanceof MissingObjectError)) throw e;
      this.missing.add(objectRelKey('heads', hash));
      return;
    }
    await Promise.all([this.tree(rec.tree), rec.parent ? this.head(rec.parent) : undefined]);
  }

  /** A tree node and everything below it. */
  async tree(hash: string): Promise<void> {
    if (this.trees.has(hash)) return;
    this.trees.add(hash);
    const node = await this.limiter.run(() => this.readNode(hash));
    if (!node) {
      if (hash !== EMPTY_TREE) this.missing.add(objectRelKey('trees', hash)); // the empty tree need not be stored
      return;
    }
    const next: Promise<void>[] = [];
    if (node.type === 'split') {
      for (const b of node.buckets) if (b) next.push(this.tree(b));
    } else {
      for (const e of node.entries) {
        if (!e.hash) continue;
        if (e.kind === 'dir') next.push(this.tree(e.hash));
        else if (e.kind === 'file') next.push(this.blob(e.hash, e.size));
      }
    }
    await Promise.all(next);
  }

  /** A blob and, when it is stored in chunks, each chunk. size (the file's) spares the fetch of small blobs. */
  async blob(hash: string, size?: number): Promise<void> {
    if (this.blobs.has(hash)) return;
    this.blobs.add(hash);
    try {
      const chunks = await this.limiter.run(() => this.store.blobChunks(hash, size));
      for (const c of chunks ?? []) this.blobs.add(c.hash);
    } catch (e) {
      if (!(e instanceof MissingObjectError)) throw e;
      this.missing.add(objectRelKey('blobs', hash));
    }
  }

  /** A hash of unknown kind (found in a document): a head, a tree or a blob, whichever exists. */
  async any(hash: string): Promise<void> {
    if (!isHash(hash) || this.heads.has(hash) || this.trees.has(hash) || this.blobs.has(hash)) return;
    const b = this.store.backend;
    const exists = (kind: 'heads' | 'trees' | 'blobs') => this.limiter.run(() => b.has(this.store.key(objectRelKey(kind, hash))));
    if (await exists('heads')) return this.head(hash);
    if (hash === EMPTY_TREE || (await exists('trees'))) return this.tree(hash);
    if (await exists('blobs')) return this.blob(hash);
  }

  /** A verified, decoded tree node straight from the backend (ObjectStore's caches stay untouched), or null. */
  private async readNode(hash: string): Promise<TreeNode | null> {
    const key = this.store.key(objectRelKey('trees', hash));
    const stored = await this.store.backend.get(key);
    if (!stored) return null;
    const bytes = decodeStored(stored);
    if (sha256Hex(bytes) !== hash) throw new CorruptObjectError(key, 'hash mismatch');
    try {
      return decodeNode(bytes);
    } catch (e) {
      throw new CorruptObjectError(key, `undecodable tree node: ${(e as Error).message}`);
    }
  }
}
