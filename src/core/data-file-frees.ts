// The freeing of data files' pages under way on libuv's thread pool, by inode (DataFiles): a replaced file emptied
// and closed (DataFiles.replace), or a file cut in place (DataFiles.shrink). The kernel frees a file's pages inside
// the ftruncate(2) or close(2) that drops them (~40 ms per 256 MiB on tmpfs): never on the event loop.
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
