// TCP record marking (RFC 5531 §11): each record is a sequence of fragments, each
// preceded by a 4-byte header whose top bit marks the last fragment and whose low
// 31 bits give the fragment length.
//
// The RFC sets no limit on a record's size or on its number of fragments, so the decoder
// sets both: a peer must not make the server hold more than it will ever accept. Memory held
// for a partial record grows with the bytes actually received (never with what a header
// announces), and fragments are copied into a few blocks rather than kept as one view each
// (1-byte fragments once cost ~120 bytes of heap per payload byte).

/** 2 MiB of payload plus room for the RPC and NFS headers around it. */
export const DEFAULT_MAX_RECORD_SIZE = 2 * 1024 * 1024 + 64 * 1024;
/**
 * Fragments one record may have. Clients send one fragment per record (Linux, libnfs) or
 * fragments of their send buffer size (libtirpc: about 9000 bytes, so ~240 for a 2 MiB
 * record); only a hostile peer needs more than a thousand.
 */
export const DEFAULT_MAX_FRAGMENTS = 1024;

import type { BufferPool } from '../util/buffer-pool.js';

const LAST_FRAGMENT = 0x80000000;
const MAX_FRAGMENT = 0x7fffffff;

/** A record broke one of the decoder's limits; the stream cannot be resynchronised. */
export class RecordLimitError extends Error {}

export class RecordTooLargeError extends RecordLimitError {
  constructor(
    readonly size: number,
    readonly max: number,
  ) {
    super(`RPC record of at least ${size} bytes exceeds the maximum of ${max}`);
  }
}

export class RecordMemoryError extends RecordLimitError {
  constructor(
    readonly used: number,
    readonly max: number,
  ) {
    super(`partial RPC records of all connections would hold more than ${max} bytes (${used} held)`);
  }
}

/**
 * Memory shared by the partial records of many decoders (one per connection): a decoder that
 * would take more than is left fails with RecordMemoryError, so that many connections each
 * holding a large incomplete record cannot together exhaust memory.
 */
export class RecordMemoryBudget {
  used = 0;
  constructor(readonly max: number) {}
}

export class TooManyFragmentsError extends RecordLimitError {
  constructor(
    readonly fragments: number,
    readonly max: number,
  ) {
    super(`RPC record of more than ${max} fragments (${fragments} so far)`);
  }
}

export interface RecordDecoderOptions {
  maxRecordSize?: number;
  /** fragments per record (default DEFAULT_MAX_FRAGMENTS) */
  maxFragments?: number;
  /** large single-fragment records are assembled in buffers from this pool */
  pool?: BufferPool;
  /** memory budget shared with other decoders (default: none) */
  budget?: RecordMemoryBudget;
  /**
   * The chunks pushed are reused once `push` returns (rpc/socket-reader.ts): a record lying
   * inside one chunk is copied (into a pooled buffer when large) instead of handed out as a view.
   */
  transient?: boolean;
}

/** Records at least this big that span chunks are assembled in a pooled buffer... */
const POOL_MIN = 64 * 1024;
/** ...once this much of them has arrived, so that a stalled peer cannot pin a pooled buffer cheaply. */
const POOL_AFTER = 16 * 1024;
/** Size of the blocks other partial records are copied into. */
const BLOCK = 64 * 1024;
const MIN_BLOCK = 256;

/**
 * Copies of records from COPY_SLAB_MIN up to POOL_MIN bytes (a 4 KiB WRITE's record is 4,236) are carved out of
 * a shared slab, as Buffer.allocUnsafe carves smaller ones out of Node's 8 KiB pool, instead of each getting an
 * ArrayBuffer of its own (allocated, tracked as external memory and freed by the collector: ~2 µs per 4 KiB
 * WRITE). A slab is left to the collector once full; a record kept by its call pins at most one slab.
 */
export const COPY_SLAB_MIN = Buffer.poolSize >>> 1;
const COPY_SLAB_SIZE = 256 * 1024;

/** Bump allocation of views into one slab at a time (8-byte aligned, as Node's pool). */
export class CopySlab {
  private slab: Buffer | null = null;
  private used = 0;
  constructor(readonly size = COPY_SLAB_SIZE) {}

  /** `n` bytes nobody else holds (uninitialised); more than `size` get a buffer of their own. */
  take(n: number): Buffer {
    if (n > this.size) return Buffer.allocUnsafe(n);
    if (this.slab === null || this.used + n > this.size) {
      this.slab = Buffer.allocUnsafeSlow(this.size);
      this.used = 0;
    }
    const at = this.used;
    this.used = (at + n + 7) & ~7;
    return this.slab.subarray(at, at + n);
  }
}

const copySlab = new CopySlab();

const WANT_HEADER = 0;
const IN_FRAGMENT = 1;

/**
 * Reassembles records from a byte stream. Feed it socket chunks with `push`; it calls
 * `onRecord` once per complete record. A record lying inside one chunk is handed out
 * as a view of that chunk (no copy). After a RecordLimitError the decoder is unusable:
 * the stream cannot be resynchronised, so the connection must be closed.
 */
export class RecordDecoder {
  readonly maxRecordSize: number;
  readonly maxFragments: number;
  private state = WANT_HEADER;
  private header = Buffer.alloc(4);
  private headerHave = 0;
  private fragmentLeft = 0;
  private lastFragment = false;
  /** bytes of the current record announced so far (fragment headers seen) */
  private recordSize = 0;
  private fragments = 0;
  /** bytes of the current record received (copied into blocks or the slab) */
  private received = 0;
  /** copies of the current record's bytes; only the last block has free room */
  private blocks: Buffer[] = [];
  private blockHave = 0;
  private failed: RecordLimitError | null = null;
  private readonly pool: BufferPool | null;
  /** pooled buffer the current record is copied into */
  private slab: Buffer | null = null;
  private readonly budget: RecordMemoryBudget | null;
  /** bytes of the budget this decoder holds (its blocks or slab) */
  private charged = 0;
  private readonly transient: boolean;

  /** `onRecord` gets the pooled buffer too when the record lives in one; the receiver gives it back. */
  constructor(
    private readonly onRecord: (record: Buffer, pooled?: Buffer) => void,
    opts: RecordDecoderOptions = {},
  ) {
    this.maxRecordSize = opts.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    this.maxFragments = opts.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
    this.pool = opts.pool ?? null;
    this.budget = opts.budget ?? null;
    this.transient = opts.transient ?? false;
  }

  /** Takes `n` bytes of the shared budget for the partial record, or fails. */
  private charge(n: number): void {
    const b = this.budget;
    if (b === null) return;
    if (b.used + n > b.max) this.fail(new RecordMemoryError(b.used, b.max));
    b.used += n;
    this.charged += n;
  }

  /** Gives back what the partial record held (it was emitted or dropped). */
  release(): void {
    if (this.budget !== null && this.charged > 0) {
      this.budget.used -= this.charged;
      this.charged = 0;
    }
  }

  /** True while part of a record (or of a fragment header) is buffered. */
  get partial(): boolean {
    return this.headerHave > 0 || this.state === IN_FRAGMENT || this.fragments > 0;
  }

  /** Memory held for the partial record (blocks or pooled buffer). */
  get bufferedBytes(): number {
    if (this.slab !== null) return this.slab.length;
    let n = 0;
    for (const b of this.blocks) n += b.length;
    return n;
  }

  /** Throws a RecordLimitError as soon as a fragment header breaks a limit. */
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
      if (take === this.fragmentLeft && this.lastFragment && this.received === 0) {
        // the whole record is inside this chunk: hand out a view (a copy when the chunk is reused)
        const record = chunk.subarray(off, off + take);
        off += take;
        this.reset();
        if (this.transient) this.emitCopy(record);
        else this.onRecord(record);
        continue;
      }
      this.store(chunk, off, take);
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
    if (++this.fragments > this.maxFragments) this.fail(new TooManyFragmentsError(this.fragments, this.maxFragments));
    if (this.recordSize > this.maxRecordSize) this.fail(new RecordTooLargeError(this.recordSize, this.maxRecordSize));
    this.fragmentLeft = len;
    this.state = IN_FRAGMENT;
  }

  private fail(e: RecordLimitError): never {
    this.failed = e;
    this.blocks = [];
    this.slab = null;
    this.release();
    throw e;
  }

  /** Copies `take` bytes of `chunk` at `off` into the current record. */
  private store(chunk: Buffer, off: number, take: number): void {
    if (
      this.slab === null &&
      this.pool !== null &&
      this.lastFragment &&
      this.fragments === 1 &&
      this.recordSize >= POOL_MIN &&
      this.recordSize <= this.pool.size &&
      this.received + take >= POOL_AFTER
    ) {
      this.charge(this.pool.size);
      const slab = this.pool.take();
      let at = 0;
      for (let i = 0; i < this.blocks.length; i++) {
        const b = this.blocks[i];
        at += b.copy(slab, at, 0, i === this.blocks.length - 1 ? this.blockHave : b.length);
      }
      this.blocks = [];
      this.blockHave = 0;
      this.slab = slab;
    }
    if (this.slab !== null) {
      chunk.copy(this.slab, this.received, off, off + take);
      this.received += take;
      return;
    }
    this.received += take;
    while (take > 0) {
      let last = this.blocks.length > 0 ? this.blocks[this.blocks.length - 1] : null;
      if (last === null || this.blockHave === last.length) {
        // size the block for what is announced, at most BLOCK: it is only filled by bytes received
        const size = Math.min(BLOCK, Math.max(MIN_BLOCK, this.fragmentLeft));
        this.charge(size);
        last = Buffer.allocUnsafe(size);
        this.blocks.push(last);
        this.blockHave = 0;
      }
      const k = Math.min(take, last.length - this.blockHave);
      chunk.copy(last, this.blockHave, off, off + k);
      this.blockHave += k;
      off += k;
      take -= k;
    }
  }

  /**
   * Where the next socket read may go to save a copy: the rest of the current record in its pooled buffer
   * (exactly the bytes still missing, so no byte of the next record lands there), or null. The bytes read into
   * it are then announced with `pushInPlace`, not `push`.
   */
  inPlaceTarget(): Buffer | null {
    if (this.slab === null || this.state !== IN_FRAGMENT || this.fragmentLeft === 0 || this.failed) return null;
    return this.slab.subarray(this.received, this.received + this.fragmentLeft);
  }

  /** `n` bytes were read into the buffer `inPlaceTarget` gave (the record's own buffer). */
  pushInPlace(n: number): void {
    if (this.failed) throw this.failed;
    if (this.slab === null || this.state !== IN_FRAGMENT || n > this.fragmentLeft)
      throw new Error('record-marking: no in-place read expected');
    this.received += n;
    this.fragmentLeft -= n;
    if (this.fragmentLeft === 0) {
      this.state = WANT_HEADER;
      if (this.lastFragment) this.emit();
    }
  }

  private emitCopy(record: Buffer): void {
    const n = record.length;
    if (this.pool !== null && n >= POOL_MIN && n <= this.pool.size) {
      const slab = this.pool.take();
      record.copy(slab, 0);
      this.onRecord(slab.subarray(0, n), slab);
      return;
    }
    const copy = n >= COPY_SLAB_MIN && n < POOL_MIN ? copySlab.take(n) : Buffer.allocUnsafe(n);
    record.copy(copy, 0);
    this.onRecord(copy);
  }

  private emit(): void {
    if (this.slab !== null) {
      const slab = this.slab;
      const record = slab.subarray(0, this.received);
      this.slab = null;
      this.reset();
      this.onRecord(record, slab);
      return;
    }
    const b = this.blocks;
    let record: Buffer;
    if (b.length === 0) record = Buffer.alloc(0);
    else if (b.length === 1) record = b[0].subarray(0, this.blockHave);
    else {
      b[b.length - 1] = b[b.length - 1].subarray(0, this.blockHave);
      record = Buffer.concat(b, this.received);
    }
    this.reset();
    this.onRecord(record);
  }

  private reset(): void {
    this.release();
    this.state = WANT_HEADER;
    this.fragmentLeft = 0;
    this.recordSize = 0;
    this.fragments = 0;
    this.received = 0;
    this.lastFragment = false;
    if (this.blocks.length > 0) this.blocks = [];
    this.blockHave = 0;
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
