// Local write-back area: the content of files changed in a session, one file per inode,
// until it is sealed into blobs. Small synchronous calls: on the page cache they cost
// microseconds, far less than a thread-pool round trip.
import fs from 'node:fs';
import path from 'node:path';
import { fdatasync, isMemoryFs, mkdirDurable, syncDir } from './durable.js';
import { largeBuffers } from '../../util/buffer-pool.js';
import { ReadAhead, READ_AHEAD_MIN } from './read-ahead.js';

const MAX_OPEN = 256;

export class DataFiles {
  private fds = new Map<number, number>();
  /** a data file was created since the directory was last fsynced */
  private dirDirty = false;

  private readonly inline: boolean;
  /** sequential large reads: the next piece read while the event loop is idle (read-ahead.ts) */
  private readonly ahead = new ReadAhead((ino, buf, len, offset) => this.preadInto(ino, buf, len, offset));

  constructor(private readonly dir: string) {
    mkdirDurable(dir);
    this.inline = isMemoryFs(dir);
  }

  pathOf(ino: number): string {
    return path.join(this.dir, String(ino));
  }

  private fd(ino: number, create = false): number {
    let fd = this.fds.get(ino);
    if (fd !== undefined) {
      this.fds.delete(ino); // keep most recently used last
      this.fds.set(ino, fd);
      if (create) fs.ftruncateSync(fd, 0);
      return fd;
    }
    if (this.fds.size >= MAX_OPEN) {
      const [oldIno, oldFd] = this.fds.entries().next().value as [number, number];
      this.fds.delete(oldIno);
      fs.closeSync(oldFd);
    }
    if (create) {
      // a new (or emptied) data file in one open(2), not a failed open, a second open and a truncate
      fd = fs.openSync(this.pathOf(ino), fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
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
    this.fds.set(ino, fd);
    return fd;
  }

  /** An empty data file for ino (an existing one is emptied), then `content` in it. */
  create(ino: number, content?: Buffer): void {
    this.ahead.drop(ino);
    const fd = this.fd(ino, true);
    if (content && content.length) writeAll(fd, content, 0);
  }

  write(ino: number, offset: number, data: Buffer): void {
    this.ahead.drop(ino);
    writeAll(this.fd(ino), data, offset);
  }

  /**
   * Reads into a pooled buffer when large; `pooled` must then be given back after use. `size` is the file's
   * size: sequential large reads below it are read ahead (read-ahead.ts) once `sent()` says the reply went.
   */
  read(ino: number, offset: number, count: number, size = 0): { data: Buffer; pooled?: Buffer } {
    if (count >= READ_AHEAD_MIN) {
      const hit = this.ahead.take(ino, offset, count, size);
      if (hit) return hit;
    }
    const pooled = count >= READ_AHEAD_MIN && count <= largeBuffers.size ? largeBuffers.take() : undefined;
    const buf = pooled ?? Buffer.allocUnsafe(count);
    const got = this.preadInto(ino, buf, count, offset);
    return { data: got === buf.length ? buf : buf.subarray(0, got), pooled };
  }

  /** The reply of the last read() has been sent: sequential reads go on with a read-ahead. */
  sent(): void {
    this.ahead.sent();
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

  truncate(ino: number, size: number): void {
    this.ahead.drop(ino);
    fs.ftruncateSync(this.fd(ino), size);
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

  remove(ino: number): void {
    this.ahead.drop(ino);
    const fd = this.fds.get(ino);
    if (fd !== undefined) {
      this.fds.delete(ino);
      fs.closeSync(fd);
    }
    try {
      fs.unlinkSync(this.pathOf(ino)); // one unlink(2); fs.rmSync adds an lstat and its own bookkeeping
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
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
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }
}

function writeAll(fd: number, data: Buffer, offset: number): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done);
}
