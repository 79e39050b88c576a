// An object of a session's filesystem: either still as in the base tree, or changed.
import { AttrsRecord, FileType, WccAttrRecord, type NfsTime } from './attrs.js';
import type { Directory } from './directory.js';
import type { EntryKind, TreeEntry } from '../store/tree-entry.js';
import { fromPair, timeRecord } from './time.js';

/** The inode number of a session's root directory. */
export const ROOT_INO = 1;

export const KIND_TYPE: Record<EntryKind, FileType> = {
  file: FileType.REG,
  dir: FileType.DIR,
  symlink: FileType.LNK,
  fifo: FileType.FIFO,
  socket: FileType.SOCK,
  chardev: FileType.CHR,
  blockdev: FileType.BLK,
};

export const TYPE_KIND: Partial<Record<FileType, EntryKind>> = {
  [FileType.REG]: 'file',
  [FileType.DIR]: 'dir',
  [FileType.LNK]: 'symlink',
  [FileType.FIFO]: 'fifo',
  [FileType.SOCK]: 'socket',
  [FileType.CHR]: 'chardev',
  [FileType.BLK]: 'blockdev',
};

/** The persisted state of an inode (journal and checkpoint records). */
export interface InodeState {
  ino: number;
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  atime: NfsTime;
  mtime: NfsTime;
  ctime: NfsTime;
  /** REG: content blob while the data is not local */
  blob: string | null;
  /** REG: content lives in the session's data file */
  local: boolean;
  target?: string;
  /** DIR: parent inode, for '..' */
  parent: number;
  /** DIR: base tree of the listing (null for directories made in the session) */
  tree: string | null;
  /** exclusive CREATE verifier, hex (RFC 1813 3.3.8) */
  verf?: string;
  /** CHR, BLK: device number [major, minor] (RFC 1813 specdata3) */
  rdev?: [number, number];
}

/** An inode's persisted state as a class, not an object literal: one hidden class whatever its size holds
 *  (the journal's inode encoder reads every CREATE's; see AttrsRecord in attrs.ts). */
class InodeRecord implements InodeState {
  ino: number;
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  atime: NfsTime;
  mtime: NfsTime;
  ctime: NfsTime;
  blob: string | null;
  local: boolean;
  parent: number;
  tree: string | null;
  declare target?: string;
  declare verf?: string;
  declare rdev?: [number, number];

  constructor(n: InodeState) {
    this.ino = n.ino;
    this.type = n.type;
    this.mode = n.mode;
    this.uid = n.uid;
    this.gid = n.gid;
    this.nlink = n.nlink;
    this.size = n.size;
    this.atime = n.atime;
    this.mtime = n.mtime;
    this.ctime = n.ctime;
    this.blob = n.blob;
    this.local = n.local;
    this.parent = n.parent;
    this.tree = n.tree;
    if (n.target !== undefined) this.target = n.target;
    if (n.verf !== undefined) this.verf = n.verf;
    if (n.rdev !== undefined) this.rdev = n.rdev;
  }
}

export class Inode implements InodeState {
  ino!: number;
  type!: FileType;
  mode!: number;
  uid!: number;
  gid!: number;
  nlink!: number;
  size!: number;
  atime!: NfsTime;
  mtime!: NfsTime;
  ctime!: NfsTime;
  blob: string | null = null;
  local = false;
  target?: string;
  parent = 0;
  tree: string | null = null;
  verf?: string;
  rdev?: [number, number];
  /** DIR: loaded listing (null until first needed) */
  dir: Directory | null = null;
  /** differs from the base: persisted in the journal and checkpoint */
  dirty = false;
  /** data written but not yet made stable */
  unstable = false;
  /** this object's file handle, once made */
  fh: Buffer | null = null;
  /** cached encodings, cleared on change */
  private cachedAttrs: AttrsRecord | null = null;

  static fromState(s: InodeState): Inode {
    const n = new Inode();
    Object.assign(n, s);
    // a checkpoint's times are JSON objects: one hidden class for every time (attrs.ts)
    n.atime = timeRecord(s.atime);
    n.mtime = timeRecord(s.mtime);
    n.ctime = timeRecord(s.ctime);
    return n;
  }

  /** A session's root directory as in its base tree. */
  static root(owner: { uid: number; gid: number }, t: NfsTime, tree: string): Inode {
    const r = new Inode();
    t = timeRecord(t);
    Object.assign(r, {
      ino: ROOT_INO,
      type: FileType.DIR,
      mode: 0o755,
      uid: owner.uid,
      gid: owner.gid,
      nlink: 2,
      size: 4096,
      atime: t,
      mtime: t,
      ctime: t,
      parent: ROOT_INO,
      tree,
    });
    return r;
  }

  static fromEntry(e: TreeEntry, parent: number, uid: number, gid: number): Inode {
    const n = new Inode();
    const t = fromPair(e.mtime);
    n.ino = e.ino;
    n.type = KIND_TYPE[e.kind];
    n.mode = e.mode;
    n.uid = uid;
    n.gid = gid;
    n.size = e.kind === 'dir' ? 4096 : e.size;
    // hard links: every name of the inode carries the same ino and its link count (tree-codec.ts)
    n.nlink = e.kind === 'dir' ? 2 + (e.dirs ?? 0) : (e.links ?? 1);
    n.atime = t;
    n.mtime = t;
    n.ctime = t;
    if (e.kind === 'file') n.blob = e.hash ?? null;
    if (e.kind === 'dir') {
      n.tree = e.hash ?? null;
      n.parent = parent;
    }
    if (e.kind === 'symlink') n.target = e.target ?? '';
    if (e.rdev) n.rdev = [e.rdev[0], e.rdev[1]];
    return n;
  }

  state(): InodeState {
    return new InodeRecord(this);
  }

  changed(): void {
    this.cachedAttrs = null;
  }

  attrs(fsid: bigint): AttrsRecord {
    if (this.cachedAttrs) return this.cachedAttrs;
    this.cachedAttrs = new AttrsRecord(
      this.type,
      this.mode,
      this.nlink,
      this.uid,
      this.gid,
      this.size,
      Math.ceil(this.size / 4096) * 4096,
      this.rdev ?? [0, 0],
      fsid,
      this.ino,
      this.atime,
      this.mtime,
      this.ctime,
    );
    return this.cachedAttrs;
  }

  wcc(): WccAttrRecord {
    return new WccAttrRecord(this.size, this.mtime, this.ctime);
  }
}
