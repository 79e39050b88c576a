// The READDIR / READDIRPLUS listing of a session directory (RFC 1813 3.3.16, 3.3.17). Cookies: 1 is ".",
// 2 is "..", entries follow at their slot's sequence number + 2. A sequence number is never reused, so a
// cookie stays valid while entries come and go, and the cookie verifier is zero.
// Per entry the listing allocates nothing: one cursor object is moved along the directory's slot array
// (a page of 400 entries made 800 closures, 400 entry objects, 400 BigInts and two generator frames each).
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

/**
 * The entry at the cursor. The same object is returned by every `next()` of one listing: read it before
 * asking for the next entry (the NFS procedures encode each entry at once).
 */
class Cursor implements DirEntry {
  name = '';
  fileid = 0;
  cookie = 0;
  /** the entry's inode when known ("." and ".."), else its slot */
  node: Inode | null = null;
  slot: Slot | null = null;

  constructor(private readonly host: ListingHost) {}

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
  private readonly cur: Cursor;
  private readonly res: IteratorYieldResult<DirEntry>;
  private i: number;
  private readonly slots: readonly Slot[];

  constructor(
    host: ListingHost,
    private readonly d: Inode,
    private readonly parent: Inode,
    /** the cookie the listing starts after */
    private c: number,
    dir: Directory,
  ) {
    this.cur = new Cursor(host);
    this.res = { done: false, value: this.cur };
    const { slots, start } = dir.slotsAfter(Math.max(0, c - 2));
    this.slots = slots;
    this.i = start;
  }

  next(): IteratorResult<DirEntry> {
    const cur = this.cur;
    if (this.c < 2) {
      // "." (cookie 1) and ".." (cookie 2)
      const dot = this.c < 1;
      const n = dot ? this.d : this.parent;
      this.c = dot ? 1 : 2;
      cur.name = dot ? '.' : '..';
      cur.fileid = n.ino;
      cur.cookie = this.c;
      cur.node = n;
      cur.slot = null;
      return this.res;
    }
    const slots = this.slots;
    while (this.i < slots.length) {
      const s = slots[this.i++];
      if (s.removed) continue;
      cur.name = s.name;
      cur.fileid = s.ino;
      cur.cookie = s.seq + 2;
      cur.node = null;
      cur.slot = s;
      return this.res;
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
