// A directory tree's entries: what the store's tree nodes hold for each name.
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
