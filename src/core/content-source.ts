// What the copy-on-write core needs of the store: base file content and base directory listings.
import type { TreeEntry } from '../store/tree-entry.js';

export interface ContentSource {
  getBlob(hash: string): Promise<Buffer>;
  /** bytes [offset, offset + length) of a blob, fetching only what they need */
  readBlob(hash: string, offset: number, length: number): Promise<Buffer>;
  /** readBlob as consecutive slices of cached data (not to be modified) */
  readSlices(hash: string, offset: number, length: number): Promise<Buffer[]>;
  /** readSlices when no I/O is needed (all in RAM), else null */
  cachedSlices(hash: string, offset: number, length: number): Buffer[] | null;
  /** the chunks of a chunked blob, null for a blob stored whole */
  blobChunks(hash: string, sizeHint?: number): Promise<{ hash: string; length: number }[] | null>;
  listDir(hash: string): Promise<TreeEntry[]>;
}
