// The freeing of data files' pages under way on libuv's thread pool, by inode (DataFiles): a replaced file emptied
// and closed (DataFiles.replace), or a file cut in place (DataFiles.shrink). The kernel frees a file's pages inside
// the ftruncate(2) or close(2) that drops them (~40 ms per 256 MiB on tmpfs): never on the event loop.
// Also the record of a data file open in DataFiles' table, and its closing (a replaced one emptied first, on the pool).
import fs from 'node:fs';

export class DataFileFrees {
  /** frees in progress: the truncating call's reply waits for its own (freed); a failed cut stays until then */
  private readonly freeing = new Map<number, Promise<void>>();
  /** in-place cuts running, never rejected: until one is done its file takes no write, cut, removal or sync */
  private readonly cutting = new Map<number, Promise<void>>();

  /** A replaced file's free (DataFiles.replace). */
  track(ino: number, free: Promise<void>): void {
    this.freeing.set(ino, free);
    void free.then(() => {
      if (this.freeing.get(ino) === free) this.freeing.delete(ino);
    });
  }

  /** Cuts fd (ino's data file) to `size` on the thread pool; `release` once done (the fd's lease). */
  cut(ino: number, fd: number, size: number, release: () => void): void {
    const cut = new Promise<void>((done, fail) =>
      fs.ftruncate(fd, size, (e) => {
        try {
          if (e) fs.ftruncateSync(fd, size); // once more, here; if that fails too the truncating call does
          if (this.freeing.get(ino) === cut) this.freeing.delete(ino);
          done();
        } catch (again) {
          fail(again as Error); // left in `freeing` for freed() to throw
        } finally {
          this.cutting.delete(ino);
          release();
        }
      }),
    );
    this.freeing.set(ino, cut);
    this.cutting.set(
      ino,
      cut.catch(() => undefined), // waiters go on after a failed cut; the truncating call fails (freed)
    );
  }

  /** Is ino's data file being cut in place now? */
  busy(ino: number): boolean {
    return this.cutting.has(ino);
  }

  /** Undefined when ino's data file is not being cut; else a promise that resolves once no cut of it runs. */
  settled(ino: number): Promise<void> | undefined {
    const p = this.cutting.get(ino);
    return p === undefined ? undefined : p.then(() => this.settled(ino));
  }

  /** Resolves once ino's free in progress, if any, is done; rejects if it was a cut that failed. */
  async freed(ino: number): Promise<void> {
    const p = this.freeing.get(ino);
    try {
      await p;
    } finally {
      if (p !== undefined && this.freeing.get(ino) === p) this.freeing.delete(ino);
    }
  }
}

/** A data file open in DataFiles' table. */
export interface OpenFile {
  fd: number;
  /** used since it last came up for eviction (second chance) */
  used: boolean;
  /** leases handed out (`lease`) and not yet released: the fd stays open until the last is */
  leases: number;
  /** evicted or removed while leased: closed when the last lease is released */
  doomed: boolean;
  /** replaced by a new data file (DataFiles.replace) or a large one removed: its bytes are freed on the thread
   *  pool when it is closed */
  replaced?: boolean;
}

/** Closes an open file no longer in the table, or leaves that to its last lease's release. */
export function closeUnlessLeased(open: OpenFile): Promise<void> | undefined {
  if (open.leases > 0) open.doomed = true;
  else return closeNow(open);
  return undefined;
}

/** Closes an open file; a replaced one is emptied first, both on the thread pool (the kernel frees its pages in the
 *  ftruncate, or in the close of its last reference: either way off the event loop). Errors are moot: the file is
 *  no longer named. */
export function closeNow(open: OpenFile): Promise<void> | undefined {
  if (open.replaced) return new Promise((done) => fs.ftruncate(open.fd, 0, () => fs.close(open.fd, () => done())));
  fs.closeSync(open.fd);
  return undefined;
}
