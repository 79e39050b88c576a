// Objects, trees and refs. The key layout:
//   projects/<org>/<name>/blobs/<h[0:2]>/<h>     zstd-compressed content, h = SHA-256 of the content
//   projects/<org>/<name>/trees/<h[0:2]>/<h>     zstd-compressed tree node, h = SHA-256 of its encoding
//   projects/<org>/<name>/heads/<h[0:2]>/<h>     immutable head records (history)
//   projects/<org>/<name>/head                   the mutable head ref (compare-and-swap only)
//   projects/<org>/<name>/sessions/<id>/metadata.json, tree.json
//   index/sessions/<id>                          which project a session belongs to

/**
 * A cache in front of a backend (TieredBackend's SSD tier). get checks a cached content-addressed object's
 * hash; getUnchecked leaves that to the caller, who calls discard on a mismatch.
 */
export interface CacheTier {
  getUnchecked(key: string): Promise<Buffer | null>;
  /** Drops any cached copy of a content-addressed object (it failed the caller's check). */
  discard(key: string): Promise<void>;
}

/** A byte store addressed by key. Local directory and S3 implement it; TieredBackend stacks a cache on one. */
export interface ObjectBackend {
  /** The cache tier in front of the store, or null when gets go straight to it. */
  readonly cacheTier: CacheTier | null;
  get(key: string): Promise<Buffer | null>;
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
  list(prefix: string): AsyncIterable<{ key: string; size: number; mtimeMs: number }>;
  /** Read a mutable ref with the version token to pass to casRef. */
  getRef(key: string): Promise<{ data: Buffer; version: string } | null>;
  /** Compare-and-swap: expect === null means "must not exist yet".
   *  Resolves false when another writer won; never overwrites a newer ref. */
  casRef(key: string, data: Buffer, expect: string | null): Promise<boolean>;
}

export type EntryKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'chardev' | 'blockdev';

/** One name in a directory tree. */
export interface TreeEntry {
  name: string;
  kind: EntryKind;
  /** permission bits (0o7777) */
  mode: number;
  /** fileid: unique within a head, kept for unchanged entries across landings */
  ino: number;
  /** file: content bytes; symlink: target bytes; otherwise 0 */
  size: number;
  /** modification time [seconds, nanoseconds] */
  mtime: [number, number];
  /** file: blob hash; dir: tree hash */
  hash?: string;
  /** symlink target */
  target?: string;
  /** dir: number of subdirectories, for nlink */
  dirs?: number;
  /** not a dir: number of names of this inode (hard links) in the tree, when above 1. All names of a
   *  hard-linked file carry the same ino; a tree without the field (older trees) means one name. */
  links?: number;
  /** chardev, blockdev: device number [major, minor] */
  rdev?: [number, number];
}

/** A project head: one immutable record per landing, chained by parent. */
export interface HeadRecord {
  tree: string;
  /** next unused fileid in this tree */
  nextIno: number;
  parent: string | null;
  session: string | null;
  message: string;
  time: string;
}

/** The mutable pointer to the current head record. generation and nonce make every
 *  ref body unique, so an ETag (an MD5 of the body) never repeats. */
export interface HeadRef {
  generation: number;
  nonce: string;
  head: string;
}
