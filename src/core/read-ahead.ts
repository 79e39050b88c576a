// Read-ahead of a data file read sequentially in large pieces. A client reading a file one 1 MiB READ at
// a time waits, for each, for the server's pread (a copy of 1 MiB out of the page cache, about half of the
// server's time per READ); the server is idle meanwhile, while the client takes the previous reply. Once
// two large reads of one file follow each other, the next piece is read once the reply has gone out to the
// socket (`sent`; earlier, the pread would hold back the rest of a reply the socket did not take at once),
// into a pooled buffer that the next READ then sends.
// Anything that changes the file (write, truncate, re-create, removal) drops it first (DataFiles).
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
  private scheduled = false;
  /** the last read was sequential and not at the end: read ahead once its reply is sent */
  private wanted = false;
  /** the piece is given back at this time (ms, Date.now) if nobody asked for it */
  private keepUntil = 0;
  /** one timer at a time, re-armed when it fires early (not one Timeout per piece: a READ made one and cleared it) */
  private timer: NodeJS.Timeout | null = null;

  /** `pread(buf, len, offset)` reads the file ino into buf, returning the bytes read. */
  constructor(private readonly pread: (ino: number, buf: Buffer, len: number, offset: number) => number) {}

  /**
   * The piece read ahead for exactly this read, if there is one (its buffer is then the caller's, pooled; the
   * data starts at HEADROOM in it); else null. Notes the read either way.
   */
  take(ino: number, offset: number, count: number, size: number): { data: Buffer; pooled: Buffer } | null {
    const sequential = ino === this.lastIno && offset === this.lastEnd;
    this.lastIno = ino;
    this.lastEnd = offset + count;
    this.lastLen = count;
    this.lastSize = size;
    const p = this.piece;
    let hit: { data: Buffer; pooled: Buffer } | null = null;
    if (p) {
      if (p.ino === ino && p.offset === offset && count <= p.got) {
        this.piece = null;
        hit = { data: p.buf.subarray(HEADROOM, HEADROOM + count), pooled: p.buf };
      } else if (p.ino !== ino || p.offset < offset) this.dropPiece();
    }
    this.wanted = sequential && this.lastEnd < size;
    return hit;
  }

  /** The reply of a read has gone out: read the next piece if the reads are sequential. */
  sent(): void {
    if (this.wanted) this.schedule();
  }

  /** The file changed (or is gone): forget what was read ahead of it. */
  drop(ino: number): void {
    if (this.piece?.ino === ino) this.dropPiece();
    if (this.lastIno === ino) {
      this.lastIno = -1;
      this.wanted = false;
    }
  }

  close(): void {
    this.dropPiece();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.lastIno = -1;
    this.wanted = false;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.fill());
  }

  private fill(): void {
    this.scheduled = false;
    this.wanted = false;
    const ino = this.lastIno;
    const offset = this.lastEnd;
    if (ino < 0 || offset >= this.lastSize) return;
    if (this.piece?.ino === ino && this.piece.offset === offset) return;
    this.dropPiece();
    const len = Math.min(this.lastLen, this.lastSize - offset);
    if (len < READ_AHEAD_MIN || HEADROOM + len > largeBuffers.size) return;
    const buf = largeBuffers.take();
    let got: number;
    try {
      got = this.pread(ino, buf.subarray(HEADROOM), len, offset);
    } catch {
      largeBuffers.give(buf); // the READ itself will report the error
      return;
    }
    this.piece = { ino, offset, got, buf };
    this.keepUntil = Date.now() + KEEP_MS;
    if (this.timer === null) this.arm(KEEP_MS);
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
