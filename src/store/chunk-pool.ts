// Reusable buffers for chunks read into the RAM cache (blobs.ts). A fresh ~1 MiB ArrayBuffer per chunk read
// made V8 run back-to-back mark-compacts (external memory pressure) and the kernel clear every page on first
// touch (docs/perf-notes.md, read10 and s3c). A pooled buffer carries a reference count: whoever takes it
// holds one (the RAM cache, once the chunk is cached), every READ that sends slices of it by reference holds
// a lease (ChunkLease) until its reply has gone out or been dropped. When the count falls to zero the buffer
// goes back to the pool at the next turn of the event loop (setImmediate), not at once: a promise
// continuation that received the chunk in this turn may still lease it. A holder that never releases only
// keeps its buffer from the pool (the GC frees it); a buffer is reused only once nothing holds it.
// Releasing twice throws. Idle buffers are bounded by bytes; beyond that, returned buffers are left to the GC.

/** Buffer sizes are rounded up to a multiple of this (chunks are 256 KiB-4 MiB, chunker.ts). */
const GRAIN = 64 * 1024;

interface Pooled {
  /** the whole buffer (its class's size) */
  readonly buf: Buffer;
  refs: number;
  /** out: held; pending: no holder, back to the pool next turn; idle: in the pool */
  state: 'out' | 'pending' | 'idle';
}

export interface ChunkPoolStats {
  /** buffers made */
  allocated: number;
  /** takes served by a buffer from the pool */
  reused: number;
  /** buffers that went back to the pool */
  returned: number;
  /** bytes idle in the pool now */
  idleBytes: number;
}

/** One holder's reference to a pooled buffer; release exactly once. */
export interface ChunkLease {
  release(): void;
}

const NO_LEASE: ChunkLease = { release() {} };

/** Over every pool of the process: takes served from a pool, and leases not yet released. */
export const chunkPoolTotals = { reused: 0, leases: 0 };

export class ChunkPool {
  private readonly free = new Map<number, Pooled[]>();
  /** by ArrayBuffer: every view (subarray) of a pooled buffer finds it */
  private readonly owners = new WeakMap<ArrayBufferLike, Pooled>();
  private pending: Pooled[] = [];
  private scheduled = false;
  readonly stats: ChunkPoolStats = { allocated: 0, reused: 0, returned: 0, idleBytes: 0 };

  /** `maxIdleBytes`: at most this many bytes of buffers wait in the pool (0: no pooling). */
  constructor(private readonly maxIdleBytes: number) {}

  /** A buffer of n bytes, held once by the caller (give that reference up with `release`). */
  take = (n: number): Buffer => {
    const size = Math.max(GRAIN, Math.ceil(n / GRAIN) * GRAIN);
    const p = this.pop(size) ?? this.pop(size + GRAIN);
    if (p) {
      p.state = 'out';
      p.refs = 1;
      this.stats.reused++;
      chunkPoolTotals.reused++;
      return p.buf.subarray(0, n);
    }
    const buf = Buffer.allocUnsafeSlow(size);
    this.owners.set(buf.buffer, { buf, refs: 1, state: 'out' });
    this.stats.allocated++;
    return buf.subarray(0, n);
  };

  /** True when b is a view of a pooled buffer. */
  isPooled(b: Uint8Array): boolean {
    return this.owners.has(b.buffer);
  }

  /** One more holder of b's buffer (a no-op lease for a buffer not from the pool). */
  lease(b: Uint8Array): ChunkLease {
    const p = this.owners.get(b.buffer);
    if (!p) return NO_LEASE;
    if (p.state === 'idle') throw new Error('chunk buffer leased after it went back to the pool');
    p.refs++;
    p.state = 'out';
    chunkPoolTotals.leases++;
    let done = false;
    return {
      release: () => {
        if (done) throw new Error('chunk lease released twice');
        done = true;
        chunkPoolTotals.leases--;
        this.drop(p);
      },
    };
  }

  /** Gives up the reference `take` gave (the RAM cache's, when it caches the chunk). */
  release(b: Uint8Array): void {
    const p = this.owners.get(b.buffer);
    if (p) this.drop(p);
  }

  private drop(p: Pooled): void {
    if (p.refs <= 0) throw new Error('chunk buffer released more often than held');
    if (--p.refs > 0) return;
    p.state = 'pending';
    this.pending.push(p);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.settle);
    }
  }

  /** Buffers still without a holder go back to the pool (within its bound) or to the GC. */
  private settle = (): void => {
    this.scheduled = false;
    const list = this.pending;
    this.pending = [];
    for (const p of list) {
      if (p.state !== 'pending' || p.refs !== 0) continue;
      const size = p.buf.length;
      if (this.stats.idleBytes + size > this.maxIdleBytes) {
        this.owners.delete(p.buf.buffer); // left to the GC; a stale lease then finds no owner
        continue;
      }
      p.state = 'idle';
      this.stats.idleBytes += size;
      this.stats.returned++;
      let l = this.free.get(size);
      if (!l) this.free.set(size, (l = []));
      l.push(p);
    }
  };

  private pop(size: number): Pooled | undefined {
    const p = this.free.get(size)?.pop();
    if (p) this.stats.idleBytes -= size;
    return p;
  }
}

/** Consecutive slices of cached chunks, leased: call release once they are no longer used (sent). */
export interface LeasedSlices {
  parts: Buffer[];
  release(): void;
}

/** Leases for several buffers, given up together (once). */
export class LeaseSet {
  private leases: ChunkLease[] = [];
  private done = false;
  constructor(private readonly pool: ChunkPool) {}

  /** Leases b (unless the set was already released: b is then not used) and returns it. */
  add = (b: Buffer): Buffer => {
    if (!this.done) this.leases.push(this.pool.lease(b));
    return b;
  };

  release = (): void => {
    if (this.done) throw new Error('chunk leases released twice');
    this.done = true;
    for (const l of this.leases) l.release();
    this.leases = [];
  };
}
