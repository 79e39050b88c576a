// TCP record marking (RFC 5531 §11): each record is a sequence of fragments, each
// preceded by a 4-byte header whose top bit marks the last fragment and whose low
// 31 bits give the fragment length.

/** 2 MiB of payload plus room for the RPC and NFS headers around it. */
export const DEFAULT_MAX_RECORD_SIZE = 2 * 1024 * 1024 + 64 * 1024;

import type { BufferPool } from '../util/buffer-pool.js';

const LAST_FRAGMENT = 0x80000000;
const MAX_FRAGMENT = 0x7fffffff;

export class RecordTooLargeError extends Error {
  constructor(readonly size: number, readonly max: number) {
    super(`RPC record of at least ${size} bytes exceeds the maximum of ${max}`);
  }
}

export interface RecordDecoderOptions {
  maxRecordSize?: number;
  /** large single-fragment records are assembled in buffers from this pool */
  pool?: BufferPool;
}

/** Records at least this big that span chunks are assembled in a pooled buffer. */
const POOL_MIN = 64 * 1024;

const WANT_HEADER = 0;
const IN_FRAGMENT = 1;

/**
 * Reassembles records from a byte stream. Feed it socket chunks with `push`; it calls
 * `onRecord` once per complete record. A record lying inside one chunk is handed out
 * as a view of that chunk (no copy). After a RecordTooLargeError the decoder is
 * unusable: the stream cannot be resynchronised, so the connection must be closed.
 */
export class RecordDecoder {
  readonly maxRecordSize: number;
  private state = WANT_HEADER;
  private header = Buffer.alloc(4);
  private headerHave = 0;
  private fragmentLeft = 0;
  private lastFragment = false;
  /** bytes of the current record announced so far (fragment headers seen) */
  private recordSize = 0;
  private pieces: Buffer[] = [];
  private piecesBytes = 0;
  private failed: RecordTooLargeError | null = null;
  private readonly pool: BufferPool | null;
  /** pooled buffer the current record is copied into, and how much it holds */
  private slab: Buffer | null = null;
  private slabHave = 0;

  /** `onRecord` gets the pooled buffer too when the record lives in one; the receiver gives it back. */
  constructor(private readonly onRecord: (record: Buffer, pooled?: Buffer) => void, opts: RecordDecoderOptions = {}) {
    this.maxRecordSize = opts.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    this.pool = opts.pool ?? null;
  }

  /** True while part of a record (or of a fragment header) is buffered. */
  get partial(): boolean {
    return this.headerHave > 0 || this.state === IN_FRAGMENT || this.pieces.length > 0 || this.recordSize > 0;
  }

  /** Throws RecordTooLargeError as soon as a fragment header announces too large a record. */
  push(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      if (this.state === WANT_HEADER) {
        let h: number;
        if (this.headerHave === 0 && n - off >= 4) {
          h = chunk.readUInt32BE(off);
          off += 4;
        } else {
          while (this.headerHave < 4 && off < n) this.header[this.headerHave++] = chunk[off++];
          if (this.headerHave < 4) return;
          this.headerHave = 0;
          h = this.header.readUInt32BE(0);
        }
        this.startFragment(h);
        if (this.fragmentLeft === 0) {
          this.state = WANT_HEADER;
          if (this.lastFragment) this.emit();
          continue;
        }
      }
      const take = Math.min(this.fragmentLeft, n - off);
      if (take === this.fragmentLeft && this.lastFragment && this.pieces.length === 0 && this.slab === null) {
        // the whole record is inside this chunk: hand out a view
        const record = chunk.subarray(off, off + take);
        off += take;
        this.reset();
        this.onRecord(record);
        continue;
      }
      if (this.slab === null && this.pieces.length === 0 && this.pool !== null && this.lastFragment &&
          this.recordSize === this.fragmentLeft && this.fragmentLeft >= POOL_MIN && this.fragmentLeft <= this.pool.size) {
        this.slab = this.pool.take();
        this.slabHave = 0;
      }
      if (this.slab !== null) {
        chunk.copy(this.slab, this.slabHave, off, off + take);
        this.slabHave += take;
      } else {
        this.pieces.push(chunk.subarray(off, off + take));
      }
      this.piecesBytes += take;
      this.fragmentLeft -= take;
      off += take;
      if (this.fragmentLeft === 0) {
        this.state = WANT_HEADER;
        if (this.lastFragment) this.emit();
      }
    }
  }

  private startFragment(h: number): void {
    const len = h & MAX_FRAGMENT;
    this.lastFragment = (h & LAST_FRAGMENT) !== 0;
    this.recordSize += len;
    if (this.recordSize > this.maxRecordSize) {
      this.failed = new RecordTooLargeError(this.recordSize, this.maxRecordSize);
      this.pieces = [];
      throw this.failed;
    }
    this.fragmentLeft = len;
    this.state = IN_FRAGMENT;
  }

  private emit(): void {
    if (this.slab !== null) {
      const slab = this.slab;
      const record = slab.subarray(0, this.slabHave);
      this.slab = null;
      this.reset();
      this.onRecord(record, slab);
      return;
    }
    const p = this.pieces;
    const record = p.length === 0 ? Buffer.alloc(0) : p.length === 1 ? p[0] : Buffer.concat(p, this.piecesBytes);
    this.reset();
    this.onRecord(record);
  }

  private reset(): void {
    this.state = WANT_HEADER;
    this.fragmentLeft = 0;
    this.recordSize = 0;
    this.lastFragment = false;
    if (this.pieces.length > 0) this.pieces = [];
    this.piecesBytes = 0;
  }
}

/** The 4-byte record mark for a record of `length` bytes sent as one last fragment. */
export function recordMark(length: number): Buffer {
  if (length > MAX_FRAGMENT) throw new RangeError(`record of ${length} bytes is too large for one fragment`);
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE((LAST_FRAGMENT | length) >>> 0, 0);
  return b;
}

/** Frames `chunks` as one record (a single last fragment): the mark followed by the chunks, not copied. */
export function frame(chunks: Buffer[]): Buffer[] {
  let length = 0;
  for (const c of chunks) length += c.length;
  return [recordMark(length), ...chunks];
}
