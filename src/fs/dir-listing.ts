// The READDIR / READDIRPLUS listing of a session directory (RFC 1813 3.3.16, 3.3.17). Cookies: 1 is ".",
// 2 is "..", entries follow at their slot's sequence number + 2. A sequence number is never reused, so a
// cookie stays valid while entries come and go, and the cookie verifier is zero.
// Per entry the listing allocates one small object, walking the directory's slot array by index (a page
// of 400 entries made 800 closures, 400 entry objects, 400 BigInts and two generator frames each).
import { FsError, NfsStatus, type Attrs, type DirEntry, type DirListing } from './file-system.js';
import type { Inode } from '../core/inode.js';
import type { Directory, Slot } from '../core/directory.js';
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
