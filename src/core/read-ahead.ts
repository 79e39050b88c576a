// Read-ahead of a data file read sequentially in large pieces. A client reading a file one 1 MiB READ at
// a time waits, for each, for the server's pread (a copy of 1 MiB out of the page cache, about half of the
// server's time per READ); the server is idle meanwhile, while the client takes the previous reply. Once
// two large reads of one file follow each other, the next piece is read once the reply has gone out to the
// socket (`sent`; earlier, the pread would hold back the rest of a reply the socket did not take at once),
// into a pooled buffer that the next READ then sends.
// The piece is read on libuv's thread pool, not on the event loop: at one READ in flight the event-loop thread
// then sleeps while it is read, and wakes for the next READ as a thread that has used less CPU lately, which
// the kernel's scheduler (EEVDF) runs sooner on a busy machine (docs/perf-notes.md, branch readqd1).
// Anything that changes the file (write, truncate, re-create, removal) drops it first (DataFiles), and a read
// still in flight then is cancelled: its bytes are thrown away when it completes.
import { largeBuffers } from '../../util/buffer-pool.js';

/** Reads at least this large are worth reading ahead (and come from the buffer pool). */
export const READ_AHEAD_MIN = 64 * 1024;
/**
 * Large reads land this far into their pooled buffer: the bytes before the data are room for the reply's
 * headers (record mark, RPC reply header, READ3resok up to the data), so the reply is one buffer and one write.
 */
export const HEADROOM = 512;
/** A piece read ahead that nobody asked for is given back after this long. */
const KEEP_MS = 2000;

/** A piece for a read: the data (HEADROOM bytes into `pooled`) and the pooled buffer, the caller's to give back. */
export interface Hit {
  data: Buffer;
  pooled: Buffer;
}

/**
 * A read ahead in flight on the thread pool. The read it is for waits for it (`waiter`); it is cancelled when the
 * file changes or another read comes first (a waiter then gets null once the pool is done, and reads for itself).
 */
interface Pending {
  ino: number;
  offset: number;
  len: number;
  cancelled: boolean;
  waiter: ((hit: Hit | null) => void) | null;
}

interface Piece {
  ino: number;
  offset: number;
  /** bytes read (fewer than asked at the end of the file) */
  got: number;
  buf: Buffer;
}

export class ReadAhead {
  /** the last large read: ino and where it ended */
  private lastIno = -1;
  private lastEnd = -1;
  private lastLen = 0;
  /** the file's size as the last read saw it (nothing is read ahead past it) */
  private lastSize = 0;
  private piece: Piece | null = null;
  private pending: Pending | null = null;
  /** resolved once nothing is in flight (tests) */
  private idleWaiters: (() => void)[] = [];
  /** the last read was sequential and not at the end: read ahead once its reply is sent */
  private wanted = false;
  /** the piece is given back at this time (ms, Date.now) if nobody asked for it */
  private keepUntil = 0;
  /** one timer at a time, re-armed when it fires early (not one Timeout per piece: a READ made one and cleared it) */
  private timer: NodeJS.Timeout | null = null;

  /** `pread(ino, buf, len, offset, done)` reads the file ino into buf off the event loop, then calls done. */
  constructor(
    private readonly pread: (ino: number, buf: Buffer, len: number, offset: number, done: (err: Error | null, got: number) => void) => void,
  ) {}

  /**
   * The piece read ahead for exactly this read, if there is one (its buffer is then the caller's, pooled; the
   * data starts at HEADROOM in it); a promise of it while it is being read (null if that read is cancelled or
   * fails: the caller then reads for itself); else null. Notes the read either way.
   */
  take(ino: number, offset: number, count: number, size: number): Hit | Promise<Hit | null> | null {
    const sequential = ino === this.lastIno && offset === this.lastEnd;
    this.lastIno = ino;
    this.lastEnd = offset + count;
    this.lastLen = count;
    this.lastSize = size;
    this.wanted = sequential && this.lastEnd < size;
    const q = this.pending;
    if (q !== null && q.waiter === null && q.ino === ino && q.offset === offset && count <= q.len) {
      // the piece is being read: wait for it rather than read the same bytes again (at qd1 on a busy machine the
      // next READ often arrives before the pool is done)
      return new Promise((resolve) => (q.waiter = (h) => resolve(h && { data: h.data.subarray(0, count), pooled: h.pooled })));
    }
    // a piece still being read for another place is of no use now
    this.cancelPending();
    const p = this.piece;
    let hit: Hit | null = null;
    if (p) {
      if (p.ino === ino && p.offset === offset && count <= p.got) {
        this.piece = null;
        hit = { data: p.buf.subarray(HEADROOM, HEADROOM + count), pooled: p.buf };
      } else if (p.ino !== ino || p.offset < offset) this.dropPiece();
    }
    return hit;
  }

  /** The reply of a read has gone out: read the next piece if the reads are sequential. */
  sent(): void {
    if (this.wanted) this.fill();
  }

  /** Resolves once no piece is being read (tests). */
  idle(): Promise<void> {
    if (this.pending === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The file changed (or is gone): forget what was read ahead of it, and what is being read of it. */
  drop(ino: number): void {
    if (this.piece?.ino === ino) this.dropPiece();
    if (this.pending?.ino === ino) this.cancelPending();
    if (this.lastIno === ino) {
      this.lastIno = -1;
      this.wanted = false;
    }
  }

  close(): void {
    this.cancelPending();
    this.dropPiece();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.lastIno = -1;
    this.wanted = false;
  }

  private fill(): void {
    this.wanted = false;
    const ino = this.lastIno;
    const offset = this.lastEnd;
    if (ino < 0 || offset >= this.lastSize || this.pending !== null) return;
    if (this.piece?.ino === ino && this.piece.offset === offset) return;
    this.dropPiece();
    const len = Math.min(this.lastLen, this.lastSize - offset);
    if (len < READ_AHEAD_MIN || HEADROOM + len > largeBuffers.size) return;
    const buf = largeBuffers.take();
    const job: Pending = { ino, offset, len, cancelled: false, waiter: null };
    this.pending = job;
    const done = (err: Error | null, got: number): void => {
      if (this.pending === job) this.pending = null;
      const waiter = job.waiter;
      job.waiter = null;
      if (err !== null || job.cancelled) {
        largeBuffers.give(buf);
        waiter?.(null); // the READ reads for itself (and reports an error itself)
      } else if (waiter !== null) {
        waiter({ data: buf.subarray(HEADROOM, HEADROOM + got), pooled: buf });
      } else {
        this.dropPiece();
        this.piece = { ino, offset, got, buf };
        this.keepUntil = Date.now() + KEEP_MS;
        if (this.timer === null) this.arm(KEEP_MS);
      }
      if (this.pending === null) this.wakeIdle();
    };
    try {
      this.pread(ino, buf.subarray(HEADROOM), len, offset, done);
    } catch (e) {
      done(e as Error, 0);
    }
  }

  private cancelPending(): void {
    const q = this.pending;
    if (q === null) return;
    q.cancelled = true;
    this.pending = null;
    // A READ waiting for it reads for itself once the pool is done (`done`), not now: now is the middle of the
    // change that cancelled it (a SETATTR truncates the data file, then awaits before it sets the inode's size),
    // and a read run from here would see the new bytes with the old size.
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    if (w.length === 0) return;
    this.idleWaiters = [];
    for (const resolve of w) resolve();
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.expire, ms);
    this.timer.unref();
  }

  /** The timer: gives back a piece kept KEEP_MS; a newer piece (read since the timer was armed) waits its turn. */
  private readonly expire = (): void => {
    this.timer = null;
    if (!this.piece) return;
    const left = this.keepUntil - Date.now();
    if (left > 0) this.arm(left);
    else this.dropPiece();
  };

  private dropPiece(): void {
    if (this.piece) largeBuffers.give(this.piece.buf);
    this.piece = null;
  }
}
