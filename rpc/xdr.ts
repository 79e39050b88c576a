// XDR (RFC 4506): big-endian, 4-byte aligned. Readers never read past their bounds.
import { inMemory, type FileSlice, type ReplyPart } from './file-slice.js';

export class XdrError extends Error {}

const PAD = [0, 3, 2, 1];

export class XdrReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new XdrError(`XDR: need ${n} bytes, have ${this.end - this.pos}`);
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** unsigned hyper as bigint */
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** unsigned hyper as a number; values above 2^53 are clamped to MAX_SAFE_INTEGER */
  u64n(): number {
    this.need(8);
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    if (hi >= 0x200000) return Number.MAX_SAFE_INTEGER;
    return hi * 0x100000000 + lo;
  }

  bool(): boolean {
    const v = this.u32();
    if (v > 1) throw new XdrError(`XDR: bad boolean ${v}`);
    return v === 1;
  }

  /** fixed-length opaque; returns a view into the buffer */
  fixed(n: number): Buffer {
    this.need(n + PAD[n & 3]);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n + PAD[n & 3];
    return v;
  }

  /** variable-length opaque with a maximum; returns a view into the buffer */
  opaque(max = 0xffffffff): Buffer {
    const n = this.u32();
    if (n > max) throw new XdrError(`XDR: opaque of ${n} bytes exceeds ${max}`);
    return this.fixed(n);
  }

  string(max = 0xffffffff): string {
    return this.opaque(max).toString('utf8');
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/** Growable writer. Large payloads can be appended by reference (no copy) with `ref`. */
export class XdrWriter {
  private buf: Buffer;
  pos = 0;
  private done: Buffer[] = [];
  private doneBytes = 0;
  private releases: (() => void)[] | null = null;
  /** bytes of a file that end the record (file-slice.ts); nothing may be written after them */
  private slice: FileSlice | null = null;

  constructor(size = 512) {
    this.buf = Buffer.allocUnsafe(size);
  }

  get length(): number {
    return this.doneBytes + this.pos + (this.slice === null ? 0 : this.slice.size);
  }

  private room(n: number): void {
    if (this.slice !== null) throw new RangeError('nothing may follow a file slice');
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  i32(v: number): this {
    this.room(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  u64(v: number | bigint): this {
    this.room(8);
    if (typeof v === 'bigint') {
      this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.pos);
    } else {
      this.buf.writeUInt32BE(Math.floor(v / 0x100000000) >>> 0, this.pos);
      this.buf.writeUInt32BE(v >>> 0, this.pos + 4);
    }
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.u32(v ? 1 : 0);
  }

  fixed(data: Buffer): this {
    const n = data.length;
    const pad = PAD[n & 3];
    this.room(n + pad);
    this.buf.set(data, this.pos); // TypedArray set: Buffer.copy's argument checks cost more than 84 bytes' copy
    this.pos += n;
    for (let i = 0; i < pad; i++) this.buf[this.pos++] = 0;
    return this;
  }

  opaque(data: Buffer): this {
    this.u32(data.length);
    return this.fixed(data);
  }

  string(s: string): this {
    return this.opaque(Buffer.from(s, 'utf8'));
  }

  /** A string whose UTF-8 length `bytes` the caller knows (Buffer.byteLength), encoded in place. */
  stringBytes(s: string, bytes: number): this {
    const pad = PAD[bytes & 3];
    this.room(4 + bytes + pad);
    const buf = this.buf;
    buf.writeUInt32BE(bytes, this.pos);
    let pos = this.pos + 4;
    // a short ASCII name (UTF-8 length = string length) is copied char by char: cheaper than a call to C++
    if (bytes === s.length && bytes <= 64) for (let i = 0; i < bytes; i++) buf[pos++] = s.charCodeAt(i);
    else pos += buf.write(s, pos, bytes, 'utf8');
    for (let i = 0; i < pad; i++) buf[pos++] = 0;
    this.pos = pos;
    return this;
  }

  /**
   * Goes on writing in `buf` (a pooled buffer, say), the bytes written so far in the current buffer copied to
   * its start. `buf` must hold them and whatever is written after; the caller owns it (onRelease).
   */
  adopt(buf: Buffer): void {
    if (buf.length < this.pos) throw new RangeError('adopted buffer smaller than what is written');
    buf.set(this.buf.subarray(0, this.pos), 0);
    this.buf = buf;
  }

  /**
   * The next n bytes of the reply, to be filled by the caller (e.g. a pread straight into the reply). The view
   * is valid until the next write to this writer: fill it before writing anything else.
   */
  reserve(n: number): Buffer {
    this.room(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** variable-length opaque appended by reference: the bytes are not copied */
  opaqueRef(data: Buffer): this {
    if (data.length < 4096) return this.opaque(data);
    this.u32(data.length);
    this.flush();
    this.done.push(data);
    this.doneBytes += data.length;
    const pad = PAD[data.length & 3];
    if (pad) {
      this.room(pad);
      this.buf.fill(0, this.pos, this.pos + pad);
      this.pos += pad;
    }
    return this;
  }

  /**
   * variable-length opaque of consecutive parts appended by reference (one length word, the parts' bytes in order,
   * one padding): the bytes of a range that spans two chunks of a blob, sent without joining them
   */
  opaqueRefs(parts: readonly Buffer[]): this {
    if (parts.length === 1) return this.opaqueRef(parts[0]!);
    let total = 0;
    for (const p of parts) total += p.length;
    if (total < 4096) return this.opaque(parts.length === 0 ? Buffer.alloc(0) : Buffer.concat(parts, total));
    this.u32(total);
    this.flush();
    for (const p of parts) {
      if (p.length === 0) continue;
      this.done.push(p);
      this.doneBytes += p.length;
    }
    const pad = PAD[total & 3];
    if (pad) {
      this.room(pad);
      this.buf.fill(0, this.pos, this.pos + pad);
      this.pos += pad;
    }
    return this;
  }

  /**
   * Ends the record with bytes of a file (sent by sendfile(2) where the transport can, else read when sent); the
   * writer releases it if the reply is truncated before it.
   */
  fileTail(slice: FileSlice): void {
    if (this.slice !== null) throw new RangeError('one file slice per record');
    this.slice = slice;
  }

  /** Run `fn` once the written bytes have gone out (to give a referenced buffer back). */
  onRelease(fn: () => void): void {
    (this.releases ??= []).push(fn);
  }

  /** One callback running every onRelease function, or undefined when there are none. */
  releaseCallback(): (() => void) | undefined {
    const r = this.releases;
    if (!r) return undefined;
    this.releases = null;
    return () => {
      for (const fn of r) fn();
    };
  }

  /** Overwrite a u32 at an absolute position already written in the current buffer. */
  patchU32(at: number, v: number): void {
    const local = at - this.doneBytes;
    if (local < 0 || local + 4 > this.pos) throw new RangeError('patch outside the current buffer');
    this.buf.writeUInt32BE(v >>> 0, local);
  }

  /** Drop everything written after absolute position `at` (used to rewrite a reply). */
  truncate(at: number): void {
    if (this.slice !== null && at < this.length) {
      this.slice.release();
      this.slice = null;
    }
    if (at < this.doneBytes) throw new RangeError('cannot truncate into a flushed chunk');
    this.pos = at - this.doneBytes;
  }

  private flush(): void {
    if (this.slice !== null) throw new RangeError('nothing may follow a file slice');
    if (this.pos === 0) return;
    this.done.push(this.buf.subarray(0, this.pos));
    this.doneBytes += this.pos;
    this.buf = Buffer.allocUnsafe(256);
    this.pos = 0;
  }

  /** The written bytes as buffers (no copy) and, last, the file slice if there is one. */
  parts(): ReplyPart[] {
    const c: ReplyPart[] = this.buffers();
    if (this.slice !== null) c.push(this.slice);
    return c;
  }

  /** The written bytes as a list of buffers (no copy; a file slice is read into one). */
  chunks(): Buffer[] {
    return this.slice === null ? this.buffers() : inMemory(this.parts());
  }

  private buffers(): Buffer[] {
    if (this.pos === 0) return this.done.slice();
    if (this.done.length === 0) return [this.buf.subarray(0, this.pos)]; // most replies: no spread of an empty array
    return [...this.done, this.buf.subarray(0, this.pos)];
  }

  toBuffer(): Buffer {
    const c = this.chunks();
    return c.length === 1 ? c[0] : Buffer.concat(c);
  }
}
