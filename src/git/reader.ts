// A pull reader over a byte stream: whole lines and exact byte counts, as git's stream formats need.
import type { Readable } from 'node:stream';

export class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private ended = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    const rest = this.buf.length - this.pos;
    this.buf = rest > 0 ? Buffer.concat([this.buf.subarray(this.pos), r.value]) : r.value;
    this.pos = 0;
    return true;
  }

  /** The next line without its LF (the last line may lack one), or null at the end. */
  async line(): Promise<Buffer | null> {
    for (;;) {
      const i = this.buf.indexOf(10, this.pos);
      if (i >= 0) {
        const l = this.buf.subarray(this.pos, i);
        this.pos = i + 1;
        return l;
      }
      if (!(await this.fill())) {
        if (this.pos >= this.buf.length) return null;
        const l = this.buf.subarray(this.pos);
        this.pos = this.buf.length;
        return l;
      }
    }
  }

  /** Exactly n bytes (a copy when they span reads); throws at a premature end. */
  async bytes(n: number): Promise<Buffer> {
    if (this.buf.length - this.pos >= n) {
      const b = this.buf.subarray(this.pos, this.pos + n);
      this.pos += n;
      return b;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    for (;;) {
      const take = Math.min(n - got, this.buf.length - this.pos);
      this.buf.copy(out, got, this.pos, this.pos + take);
      this.pos += take;
      got += take;
      if (got === n) return out;
      this.buf = Buffer.alloc(0);
      this.pos = 0;
      if (!(await this.fill())) throw new Error(`stream ended ${n - got} bytes early`);
    }
  }

  /** Skips one LF if it is next. */
  async optionalLf(): Promise<void> {
    if (this.pos >= this.buf.length && !(await this.fill())) return;
    if (this.buf[this.pos] === 10) this.pos++;
  }
}
