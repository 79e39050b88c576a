// What the copy-on-write core needs of the store: base file content and base directory listings.
import type { TreeEntry } from '../store/tree-entry.js';
import type { LeasedSlices } from '../store/chunk-pool.js';

export type { LeasedSlices };

export interface ContentSource {
  getBlob(hash: string): Promise<Buffer>;
  /** bytes [offset, offset + length) of a blob, fetching only what they need */
  readBlob(hash: string, offset: number, length: number): Promise<Buffer>;
  /** readBlob as consecutive slices of cached data (not to be modified), leased until `release` */
  readSlices(hash: string, offset: number, length: number): Promise<LeasedSlices>;
  /** readSlices when no I/O is needed (all in RAM), else null */
  cachedSlices(hash: string, offset: number, length: number): LeasedSlices | null;
  /** the chunks of a chunked blob, null for a blob stored whole */
  blobChunks(hash: string, sizeHint?: number): Promise<{ hash: string; length: number }[] | null>;
  listDir(hash: string): Promise<TreeEntry[]>;
}
