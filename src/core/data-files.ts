// Local write-back area: the content of files changed in a session, one file per inode,
// until it is sealed into blobs. Small synchronous calls: on the page cache they cost
// microseconds, far less than a thread-pool round trip.
import fs from 'node:fs';
import { fdatasync, isMemoryFs, mkdirDurable, syncDir } from './durable.js';
import { largeBuffers } from '../../util/buffer-pool.js';
import { HEADROOM, ReadAhead, READ_AHEAD_MIN } from './read-ahead.js';
import { closeNow, closeUnlessLeased, DataFileFrees, type OpenFile } from './data-file-frees.js';

const MAX_OPEN = 256;
/**
 * A truncation that frees at least this many allocated bytes replaces the data file instead of shrinking it in
 * place (DataFiles.replace): ftruncate(2) frees the cut pages before it returns (~40 ms for 256 MiB on tmpfs),
 * which on the event loop held every client of the daemon for that long.
 */
export const REPLACE_MIN_FREED = 1024 * 1024;
/** ...and keeps at most this many bytes (copied into the new file). On a disk only a truncation to zero is
 *  replaced: kept bytes would need an fdatasync of the new file before the rename (on the event loop). */
export const REPLACE_MAX_KEPT = 1024 * 1024;
/** a replacement data file being filled (`<ino>.new`): renamed over `<ino>`, or removed by recovery */
const NEW_SUFFIX = '.new';

/** An open data file's fd, valid until `release` (a reply sending its bytes with sendfile). */
export interface FdLease {
  fd: number;
  release: () => void;
}

/** Bytes read; `pooled`, when present, is the pooled buffer they are in, to give back after use. */
export interface Chunk {
  data: Buffer;
  pooled?: Buffer;
}

export class DataFiles {
  /**
   * Open data files, at most MAX_OPEN. Eviction is second-chance over `order` (inode numbers in the order
   * they were opened, from `head` on; an inode no longer open is skipped): a hit only sets a flag. Moving a
   * hit to the end of the Map (delete + set) and evicting from the Map's front made every new file skip the
   * holes V8 leaves for deleted Map entries (the `fd` entry in the profile of an untar).
   */
  private fds = new Map<number, OpenFile>();
  private order: number[] = [];
  private head = 0;
  /** frees on the thread pool (replace, shrink): the truncating call's reply waits for its own */
  private readonly frees = new DataFileFrees();
  /** a data file was created since the directory was last fsynced */
  private dirDirty = false;

  private readonly inline: boolean;
  /** on tmpfs/ramfs: nothing written here outlives the machine, and every write outlives the process */
  get inMemory(): boolean {
    return this.inline;
  }
  /** sequential large reads: the next piece read while the event loop is idle (read-ahead.ts) */
  private readonly ahead = new ReadAhead((ino, buf, len, offset, done) =>
    fs.read(this.fd(ino), buf, 0, len, offset, (err, got) => done(err, got)),
  );

  constructor(private readonly dir: string) {
    mkdirDurable(dir);
    this.inline = isMemoryFs(dir);
  }

  pathOf(ino: number): string {
    return `${this.dir}/${ino}`;
  }

  private fd(ino: number, create = false): number {
    const open = this.fds.get(ino);
    if (open !== undefined) {
      open.used = true;
      if (!create) return open.fd;
      if (this.frees.busy(ino)) throw new Error(`data file ${ino} created while it is being shrunk (await settled)`);
      this.truncate(ino, 0);
      return this.fds.get(ino)!.fd;
    }
    if (this.fds.size >= MAX_OPEN) this.evict();
    let fd: number;
    let existed = false;
    if (create) {
      // a new data file in one open(2). Never O_TRUNC: an existing file's pages would be freed inside the open,
      // on the event loop; one that exists is emptied by truncate(), which replaces it when that frees much
      try {
        fd = fs.openSync(this.pathOf(ino), fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        fd = fs.openSync(this.pathOf(ino), fs.constants.O_RDWR);
        existed = true;
      }
      this.dirDirty = true;
    } else {
      try {
        fd = fs.openSync(this.pathOf(ino), fs.constants.O_RDWR);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        fd = fs.openSync(this.pathOf(ino), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
        this.dirDirty = true; // its name is durable once the directory is synced (see sync)
      }
    }
    this.fds.set(ino, { fd, used: false, leases: 0, doomed: false });
    this.order.push(ino);
    // files removed while few are open leave their numbers in `order` (evict() never runs to skip them):
    // rebuild it from the open files, in the order they were opened, before it outgrows them
    if (this.order.length - this.head > 4 * MAX_OPEN) {
      this.order = [...this.fds.keys()];
      this.head = 0;
    }
    if (!existed) return fd;
    this.truncate(ino, 0);
    return this.fds.get(ino)!.fd;
  }

  /** Closes the least recently used open file (second chance: one used since its last turn goes round again). */
  private evict(): void {
    while (this.head < this.order.length) {
      const ino = this.order[this.head++]!;
      const open = this.fds.get(ino);
      if (open === undefined) continue; // removed since
      if (open.used) {
        open.used = false;
        this.order.push(ino);
        continue;
      }
      this.fds.delete(ino);
      this.ahead.drop(ino); // a read ahead in flight on this fd: its bytes may be another file's once it is reused
      closeUnlessLeased(open);
      break;
    }
    if (this.head >= 1024 && this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  /** An empty data file for ino (an existing one is emptied), then `content` in it. */
  create(ino: number, content?: Buffer): void {
    this.ahead.drop(ino);
    const fd = this.fd(ino, true);
    if (content && content.length) writeAll(fd, content, 0);
  }

  write(ino: number, offset: number, data: Buffer): void {
    if (this.frees.busy(ino)) throw new Error(`data file ${ino} written while it is being shrunk (await settled)`);
    this.ahead.drop(ino);
    writeAll(this.fd(ino), data, offset);
  }

  /**
   * Reads into a pooled buffer when large, HEADROOM bytes into it (a promise when the piece is being read ahead) (room for a reply's headers in front of the
   * data); `pooled` must then be given back after use. `size` is the file's size: sequential large reads below
   * it are read ahead (read-ahead.ts) once `sent()` says the reply went.
   */
  read(ino: number, offset: number, count: number, size = 0): Chunk | Promise<Chunk> {
    if (count >= READ_AHEAD_MIN) {
      const hit = this.ahead.take(ino, offset, count, size);
      // being read ahead: wait for it; if that is cancelled (the file changed meanwhile), read it now
      if (hit instanceof Promise) return hit.then((h) => h ?? this.readNow(ino, offset, count));
      if (hit) return hit;
    }
    return this.readNow(ino, offset, count);
  }

  private readNow(ino: number, offset: number, count: number): Chunk {
    if (count >= READ_AHEAD_MIN && HEADROOM + count <= largeBuffers.size) {
      const pooled = largeBuffers.take();
      const got = this.preadInto(ino, pooled.subarray(HEADROOM), count, offset);
      return { data: pooled.subarray(HEADROOM, HEADROOM + got), pooled };
    }
    const buf = Buffer.allocUnsafe(count);
    const got = this.preadInto(ino, buf, count, offset);
    return { data: got === buf.length ? buf : buf.subarray(0, got) };
  }

  /**
   * The data file's fd for a reply that sends its bytes straight from the file (sendfile): it stays open, even
   * if the file is evicted or removed meanwhile, until `release`. No read-ahead: nothing is read into memory.
   */
  lease(ino: number): FdLease {
    const fd = this.fd(ino);
    const open = this.fds.get(ino)!;
    open.leases++;
    let done = false;
    return {
      fd,
      release: () => {
        if (done) return;
        done = true;
        if (--open.leases === 0 && open.doomed) closeNow(open);
      },
    };
  }

  /** Reads up to count bytes at offset into buf (a small READ, into its reply); returns the bytes read. */
  readInto(ino: number, buf: Buffer, count: number, offset: number): number {
    return this.preadInto(ino, buf, count, offset);
  }

  /** The reply of the last read() has been sent: sequential reads go on with a read-ahead. */
  sent(): void {
    this.ahead.sent();
  }

  /** Resolves once no read-ahead is in flight (tests). */
  readAheadIdle(): Promise<void> {
    return this.ahead.idle();
  }

  private preadInto(ino: number, buf: Buffer, count: number, offset: number): number {
    const fd = this.fd(ino);
    let got = 0;
    while (got < count) {
      const n = fs.readSync(fd, buf, got, count - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return got;
  }

  /** Reads up to len bytes at offset into buf; bytes past the end of the file read as zeros (a sparse tail). */
  readAt(ino: number, buf: Buffer, len: number, offset: number): number {
    const fd = this.fd(ino);
    let got = 0;
    while (got < len) {
      const n = fs.readSync(fd, buf, got, len - got, offset + got);
      if (n === 0) {
        buf.fill(0, got, len);
        return len;
      }
      got += n;
    }
    return got;
  }

  /**
   * The data file cut (or extended) to `size`. A cut that frees much and keeps little replaces the file instead
   * (replace): the event loop then never waits for the kernel to free the cut pages.
   */
  truncate(ino: number, size: number): void {
    if (this.frees.busy(ino)) throw new Error(`data file ${ino} truncated while it is being shrunk (await settled)`);
    this.ahead.drop(ino);
    const fd = this.fd(ino);
    const st = fs.fstatSync(fd);
    if (size >= st.size || st.blocks * 512 - size < REPLACE_MIN_FREED) fs.ftruncateSync(fd, size);
    else if (size <= (this.inline ? REPLACE_MAX_KEPT : 0)) this.replace(ino, size);
    else this.shrink(ino, size);
  }

  /**
   * A cut that frees much and keeps more than replace() would copy: ftruncate(2) on the thread pool, where the
   * kernel frees the cut pages. Meanwhile the file's first `size` bytes (all a READ may see: the inode's size is
   * the new one) read as before, but a write, truncation or removal must wait (settled): a write past `size` made
   * before the ftruncate ran would be cut away, and any write or unlink of the file would wait for the inode's
   * lock, which the ftruncate holds, on the event loop. The file's length is the old size or the new one at any
   * moment (one ftruncate), so a crash leaves a whole file of either; the truncating call answers after it (freed).
   */
  private shrink(ino: number, size: number): void {
    const lease = this.lease(ino); // the fd stays open through an eviction meanwhile
    this.frees.cut(ino, lease.fd, size, lease.release);
  }

  /** Undefined when ino's data file takes writes now; else a promise that resolves once no shrink of it runs. */
  settled(ino: number): Promise<void> | undefined {
    return this.frees.settled(ino);
  }

  /**
   * A new data file for ino holding the first `size` bytes of the old one, renamed over it; the old file (still
   * open here, so the rename frees nothing) is emptied and closed on the thread pool, or once its last lease is
   * released. All in one turn of the event loop: a READ or WRITE runs before it on the old file or after it on
   * the new one. At any moment `<ino>` names a whole file, old or new: after a crash recovery finds one of them
   * (the caller answers only after sync(), which makes the rename durable) and removes a `<ino>.new` left behind;
   * the old file's blocks, no longer named, go with the process (or the disk's orphan list).
   */
  private replace(ino: number, size: number): void {
    const name = this.pathOf(ino);
    const tmp = name + NEW_SUFFIX;
    const old = this.fds.get(ino)!;
    const fd = fs.openSync(tmp, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
    try {
      if (size > 0) {
        const buf = Buffer.allocUnsafe(size);
        let got = 0;
        for (;;) {
          const n = got < size ? fs.readSync(old.fd, buf, got, size - got, got) : 0;
          if (n === 0) break;
          got += n;
        }
        writeAll(fd, buf.subarray(0, got), 0);
        if (got < size) fs.ftruncateSync(fd, size); // the old file was shorter: the rest reads as zeros
      }
      fs.renameSync(tmp, name);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    this.dirDirty = true; // the new file's name is durable once the directory is synced (see sync)
    this.fds.set(ino, { fd, used: true, leases: 0, doomed: false });
    old.replaced = true;
    const freeing = closeUnlessLeased(old);
    if (freeing !== undefined) this.frees.track(ino, freeing);
  }

  /**
   * Resolves once the old data file a truncation of ino replaced is freed (on the thread pool, not the event
   * loop). The truncating call answers after it, as a local truncate(2) returns after the blocks are freed: its
   * caller sees the space back (FSSTAT), and the cost is the truncating call's, not that of the calls after it.
   * A file still leased by a READ's sendfile is freed at its release, which this does not wait for.
   */
  freed(ino: number): Promise<void> {
    return this.frees.freed(ino);
  }

  size(ino: number): number {
    try {
      return fs.statSync(this.pathOf(ino)).size;
    } catch {
      return 0;
    }
  }

  /** The file's data and size on stable storage, and its name when it is new. */
  async sync(ino: number): Promise<void> {
    const shrinking = this.frees.settled(ino);
    if (shrinking !== undefined) await shrinking; // the new length is what is made durable
    await fdatasync(this.fd(ino), this.inline);
    // on tmpfs/ramfs a directory fsync does nothing (names live in memory only): skip its three syscalls,
    // which a create-heavy workload (untar, git clone) paid once per new file
    if (this.dirDirty && this.inline) this.dirDirty = false;
    if (this.dirDirty) {
      this.dirDirty = false;
      try {
        syncDir(this.dir);
      } catch (e) {
        this.dirDirty = true;
        throw e;
      }
    }
  }

  /**
   * The data file unlinked. One of at least REPLACE_MIN_FREED allocated bytes is unlinked while open and then
   * emptied and closed on the thread pool (closeNow): unlinking the last name of a closed file frees its pages
   * inside unlink(2), on the event loop. `size`, when the caller knows it (the freed inode's: its data file's
   * length), decides that without a stat of the file on every REMOVE.
   */
  remove(ino: number, size?: number): void {
    const shrinking = this.frees.settled(ino);
    if (shrinking !== undefined) {
      // unlink(2) would wait on the event loop for the inode's lock the shrink holds: after it (if that fails, or
      // the process dies first, recovery removes a data file no inode has)
      void shrinking.then(() => this.remove(ino, size)).catch(() => undefined);
      return;
    }
    this.ahead.drop(ino);
    const name = this.pathOf(ino);
    let open = this.fds.get(ino);
    if (open !== undefined) this.fds.delete(ino);
    try {
      const big = (size ?? (open ? fs.fstatSync(open.fd) : fs.statSync(name)).blocks * 512) >= REPLACE_MIN_FREED;
      if (big && !open) open = { fd: fs.openSync(name, fs.constants.O_RDONLY), used: false, leases: 0, doomed: false };
      fs.unlinkSync(name); // one unlink(2); fs.rmSync adds an lstat and its own bookkeeping
      if (big) open!.replaced = true; // no longer named: emptied on the pool, never while it still is
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    } finally {
      if (open) closeUnlessLeased(open);
    }
  }

  /** Removes replacement files a crash left half-made (replace): the names they were for still hold the old files. */
  removePartial(): void {
    for (const f of fs.readdirSync(this.dir)) if (f.endsWith(NEW_SUFFIX)) fs.rmSync(`${this.dir}/${f}`, { force: true });
  }

  /** Inode numbers of the data files present. */
  list(): number[] {
    return fs
      .readdirSync(this.dir)
      .filter((f) => /^\d+$/.test(f))
      .map(Number);
  }

  close(): void {
    this.ahead.close();
    for (const open of this.fds.values()) closeUnlessLeased(open);
    this.fds.clear();
    this.order = [];
    this.head = 0;
  }
}

function writeAll(fd: number, data: Buffer, offset: number): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done);
}
