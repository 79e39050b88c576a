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
    readonly offset: number,
    readonly length: number,
    readonly pad: number,
    private readonly onRelease: () => void,
  ) {}

  /** Bytes this part adds to the record. */
  get size(): number {
    return this.length + this.pad;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }

  /**
   * The bytes from `skip` on (of length + pad) in a buffer: pread, then zeros for whatever the file no longer
   * has (it was cut short since the reply's header promised `length` bytes) and the padding. Releases the slice.
   */
  read(skip = 0): Buffer {
    const total = this.length + this.pad;
    const out = Buffer.allocUnsafe(total - skip);
    let got = 0;
    const want = Math.max(0, this.length - skip);
    try {
      while (got < want) {
        const n = fs.readSync(this.fd, out, got, want - got, this.offset + skip + got);
        if (n === 0) break;
        got += n;
      }
    } finally {
      this.release();
    }
    out.fill(0, got);
    return out;
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
