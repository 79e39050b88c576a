// The last part of a reply as bytes of an open file instead of a buffer: "then `length` bytes of file `fd` from
// `offset`, then `pad` zero bytes". A TCP connection hands them to the kernel with sendfile(2) (native/: a small
// N-API addon) when nothing is queued before them in Node, so they are neither read into memory nor copied into
// the socket: on loopback the page-cache pages travel by reference and the receiver's copy is the only one.
// Anywhere else (a queue in front, a partial send, no addon, MIC_SENDFILE=0, a datagram) they are read with
// pread and go as an ordinary buffer. This layer knows nothing of what the bytes are.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export class FileSlice {
  private released = false;

  /**
   * `release` runs exactly once, when the bytes have been handed to the kernel, read into a buffer, or dropped:
   * until then `fd` must stay open (the owner defers closing it).
   */
  constructor(
    readonly fd: number,
    public offset: number,
    public length: number,
    public pad: number,
    private readonly onRelease: () => void,
  ) {}

  /** Bytes this part adds to the record (still to send). */
  get size(): number {
    return this.length + this.pad;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }

  /** The first n bytes were sent: the slice is what is left. */
  consume(n: number): void {
    const fromFile = Math.min(n, this.length);
    this.offset += fromFile;
    this.length -= fromFile;
    this.pad -= n - fromFile;
  }

  /**
   * The next n bytes (of length + pad) in a new buffer, and consumed: pread, then zeros for whatever the file no
   * longer has (it was cut short since the reply's header promised its length) and for the padding.
   */
  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    const want = Math.min(n, this.length);
    let got = 0;
    while (got < want) {
      const r = fs.readSync(this.fd, out, got, want - got, this.offset + got);
      if (r === 0) break;
      got += r;
    }
    out.fill(0, got);
    this.consume(n);
    return out;
  }

  /** All the bytes left, in a buffer; releases the slice. */
  read(): Buffer {
    try {
      return this.take(this.size);
    } finally {
      this.release();
    }
  }
}

/** A reply's parts: buffers, and at most one FileSlice, last. */
export type ReplyPart = Buffer | FileSlice;

/** The parts as buffers only (a FileSlice read into memory). */
export function inMemory(parts: ReplyPart[]): Buffer[] {
  const last = parts[parts.length - 1];
  if (parts.length === 0 || Buffer.isBuffer(last)) return parts as Buffer[];
  return [...(parts.slice(0, -1) as Buffer[]), last.read()];
}

/** Releases the file slices among `parts` (a reply dropped). */
export function releaseAll(parts: ReplyPart[]): void {
  for (const p of parts) if (!Buffer.isBuffer(p)) p.release();
}

type Native = { send(sock: number, head: Buffer, fd: number, offset: number, length: number, pad: number): number };

let native: Native | null | undefined;

/**
 * The addon, or null when it is not built or MIC_SENDFILE=0: replies with file slices then go by pread and
 * write. Loaded once.
 */
export function sendfileAddon(): Native | null {
  if (native !== undefined) return native;
  native = null;
  if (process.env.MIC_SENDFILE === '0' || process.platform !== 'linux') return native;
  const require = createRequire(import.meta.url);
  const here = fileURLToPath(new URL('.', import.meta.url));
  // dist/rpc/ -> dist/native/ (the build, scripts/build-native.mjs), rpc/ -> native/build/ (sources, tests)
  for (const rel of ['../native/mic_sendfile.node', '../native/build/Release/mic_sendfile.node']) {
    try {
      native = require(here + rel) as Native;
      break;
    } catch {
      // not there: try the next, else no sendfile
    }
  }
  return native;
}
