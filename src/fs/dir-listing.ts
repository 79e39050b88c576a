// The READDIR / READDIRPLUS listing of a session directory (RFC 1813 3.3.16, 3.3.17). Cookies: 1 is ".",
// 2 is "..", entries follow at their slot's sequence number + 2. A sequence number is never reused, so a
// cookie stays valid while entries come and go, and the cookie verifier is zero.
// Per entry the listing allocates one small object, walking the directory's slot array by index (a page
// of 400 entries made 800 closures, 400 entry objects, 400 BigInts and two generator frames each).
import { FileType, FsError, NfsStatus, type Attrs, type DirEntry, type DirListing } from './file-system.js';
import { Inode } from '../core/inode.js';
import { Directory, type Slot } from '../core/directory.js';
import type { SessionState } from '../core/session-state.js';

const ZERO_VERF = Buffer.alloc(8);

/** What a listing needs of the filesystem serving it. */
export interface ListingHost {
  readonly state: SessionState;
  readonly fsid: bigint;
  handleOf(ino: number): Buffer;
}

/** One entry: its inode is looked up only when READDIRPLUS asks for attributes or the handle. */
class Entry implements DirEntry {
  constructor(
    private readonly host: ListingHost,
    readonly name: string,
    readonly fileid: number,
    readonly cookie: number,
    /** the entry's inode when known ("." and ".."), else its slot */
    private readonly node: Inode | null,
    private readonly slot: Slot | null,
  ) {}

  private inode(): Inode {
    return this.node ?? this.host.state.child(this.slot!);
  }

  attrs(): Attrs {
    return this.inode().attrs(this.host.fsid);
  }

  fh(): Buffer {
    // the inode's minted handle when it has one (CREATE, LOOKUP made it); handleOf mints and keeps one
    const n = this.node ?? this.host.state.get(this.fileid);
    return n?.fh ?? this.host.handleOf(this.fileid);
  }
}

class Listing implements Iterator<DirEntry> {
  private i: number;
  private readonly slots: readonly Slot[];

  constructor(
    private readonly host: ListingHost,
    private readonly d: Inode,
    private readonly parent: Inode,
    /** the cookie the listing starts after */
    private c: number,
    dir: Directory,
  ) {
    const { slots, start } = dir.slotsAfter(Math.max(0, c - 2));
    this.slots = slots;
    this.i = start;
  }

  next(): IteratorResult<DirEntry> {
    if (this.c < 2) {
      // "." (cookie 1) and ".." (cookie 2)
      const dot = this.c < 1;
      const n = dot ? this.d : this.parent;
      this.c = dot ? 1 : 2;
      return { done: false, value: new Entry(this.host, dot ? '.' : '..', n.ino, this.c, n, null) };
    }
    const slots = this.slots;
    while (this.i < slots.length) {
      const s = slots[this.i++];
      if (!s.removed) return { done: false, value: new Entry(this.host, s.name, s.ino, s.seq + 2, null, s) };
    }
    return { done: true, value: undefined };
  }
}

/** A page's listing of directory d after `cookie` (BAD_COOKIE past the end of what was ever listed). */
export function dirListing(host: ListingHost, d: Inode, dir: Directory, cookie: bigint): DirListing {
  if (cookie >= BigInt(dir.nextSeq + 2)) throw new FsError(NfsStatus.BAD_COOKIE);
  const entries = new Listing(host, d, host.state.parentOf(d), Number(cookie), dir);
  return { dir: d.attrs(host.fsid), verf: ZERO_VERF, entries };
}

/**
 * A listing of a synthetic directory of `n` files through the same Listing, Entry and Inode code as a session's
 * (for the READDIRPLUS JIT warm-up: readdirplus.ts). Nothing of it touches a session.
 */
export function syntheticListing(n: number): { listing(cookie: number): DirListing } {
  const t = { sec: 1_700_000_000, nsec: 0 };
  const inodes = new Map<number, Inode>();
  const mk = (ino: number, type: FileType, parent: number): Inode => {
    const node = Inode.fromState({
      ino,
      type,
      mode: 0o644,
      uid: 1000,
      gid: 1000,
      nlink: 1,
      size: ino * 37,
      atime: t,
      mtime: t,
      ctime: t,
      blob: null,
      local: true,
      parent,
      tree: null,
    });
    node.fh = Buffer.alloc(32, ino & 0xff);
    inodes.set(ino, node);
    return node;
  };
  const root = mk(2, FileType.DIR, 2);
  const dir = new Directory();
  for (let i = 0; i < n; i++) dir.add(`f${String(i).padStart(i % 3 === 0 ? 7 : 9, '0')}`, mk(10 + i, FileType.REG, 2).ino);
  const state = {
    child: (s: Slot): Inode => inodes.get(s.ino)!,
    get: (ino: number): Inode | undefined => inodes.get(ino),
    parentOf: (): Inode => root,
  };
  const host = { state: state as unknown as SessionState, fsid: 1n, handleOf: (ino: number): Buffer => inodes.get(ino)!.fh! };
  return { listing: (cookie) => dirListing(host, root, dir, BigInt(cookie)) };
}
