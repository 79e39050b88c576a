// The inode table of a session's state (SessionState extends it): the objects of the base tree appear as their
// directories are listed (lazy: a session over a 100k-file tree costs nothing until it is walked), next to the
// objects the session made or changed. Reads only: the changes are SessionState's (journaled, session-state.ts).
import { FileType, FsError, NfsStatus, type NfsTime } from './attrs.js';
import { Inode, ROOT_INO } from './inode.js';
import { Directory, type Slot } from './directory.js';
import type { ContentSource } from './content-source.js';

export class InodeTable {
  /** core-internal: the inode table (base objects appear as their directories are listed) */
  readonly inodes = new Map<number, Inode>();
  readonly root: Inode;
  private fullyLoaded: Promise<void> | null = null;

  constructor(
    protected readonly contents: ContentSource,
    protected readonly defaultOwner: { uid: number; gid: number },
    base: { tree: string; time: NfsTime },
  ) {
    this.root = Inode.root(defaultOwner, base.time, base.tree);
    this.inodes.set(ROOT_INO, this.root);
  }

  get(ino: number): Inode | undefined {
    return this.inodes.get(ino);
  }

  /** An inode by number; after a restart, unchanged objects are found again by walking the tree once. */
  async find(ino: number): Promise<Inode | null> {
    const hit = this.inodes.get(ino);
    if (hit) return hit;
    await this.loadAll();
    return this.inodes.get(ino) ?? null;
  }

  /** Load every directory listing (once). */
  loadAll(): Promise<void> {
    if (!this.fullyLoaded) {
      this.fullyLoaded = (async () => {
        const queue = [this.root];
        while (queue.length) {
          const d = queue.pop()!;
          const dir = await this.listing(d);
          for (const s of dir.entries()) {
            const c = this.inodes.get(s.ino);
            if (c?.type === FileType.DIR && c !== d) queue.push(c);
          }
        }
      })();
      this.fullyLoaded.catch(() => {
        this.fullyLoaded = null;
      });
    }
    return this.fullyLoaded;
  }

  /** A directory's listing: loaded from its base tree on first use. */
  async listing(d: Inode): Promise<Directory> {
    if (d.dir) return d.dir;
    if (d.type !== FileType.DIR) throw new FsError(NfsStatus.NOTDIR);
    const dir = new Directory();
    if (d.tree) {
      const entries = await this.contents.listDir(d.tree);
      if (d.dir) return d.dir; // loaded concurrently
      let subdirs = 0;
      entries.forEach((e, i) => {
        dir.add(e.name, e.ino, i + 1);
        if (!this.inodes.has(e.ino)) this.inodes.set(e.ino, Inode.fromEntry(e, d.ino, this.defaultOwner.uid, this.defaultOwner.gid));
        if (e.kind === 'dir') subdirs++;
      });
      if (!d.dirty) {
        d.nlink = 2 + subdirs;
        d.changed();
      }
    }
    d.dir = dir;
    return dir;
  }

  /** Create inodes for entries of a recovered listing that are unchanged from the base. */
  async materialize(d: Inode, dir: Directory): Promise<void> {
    let missing = false;
    for (const s of dir.entries())
      if (!this.inodes.has(s.ino)) {
        missing = true;
        break;
      }
    if (!missing || !d.tree) return;
    for (const e of await this.contents.listDir(d.tree)) {
      const s = dir.get(e.name);
      if (s && s.ino === e.ino && !this.inodes.has(e.ino)) {
        this.inodes.set(e.ino, Inode.fromEntry(e, d.ino, this.defaultOwner.uid, this.defaultOwner.gid));
      }
    }
  }

  child(s: Slot): Inode {
    const n = this.inodes.get(s.ino);
    if (!n) throw new FsError(NfsStatus.IO, `inode ${s.ino} missing`);
    return n;
  }

  parentOf(d: Inode): Inode {
    return this.inodes.get(d.parent) ?? this.root;
  }

  /** The entry `name` of directory d, or null. */
  async lookup(d: Inode, name: string): Promise<Inode | null> {
    const s = (await this.listing(d)).get(name);
    return s ? this.child(s) : null;
  }

  /** Inodes that differ from the base (for sealing). O(inodes in memory). */
  changedInodes(): Inode[] {
    const out: Inode[] = [];
    for (const n of this.inodes.values()) if (n.dirty) out.push(n);
    return out;
  }
}
