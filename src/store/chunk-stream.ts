// Content-defined chunks of content read piece by piece, with bounded memory: the same cuts as chunking
// the whole content at once (a cut depends on at most CHUNK_MAX bytes after the chunk's start), and the
// SHA-256 of the whole content on the way. For blobs too large to hold (a sparse file of a TiB).
import { createHash } from 'node:crypto';
import { sha256Hex } from './codec.js';
import { CHUNK_MAX, cutLength } from './chunker.js';

/** Fills buf[0, len) with content bytes [offset, offset + len); returns how many it read (0 at the end). */
export type ContentReader = (buf: Buffer, len: number, offset: number) => number;

const WINDOW = 2 * CHUNK_MAX;

// Zeros (the holes of a sparse file) cut where they always cut: the gear hash forgets all but the last 32
// bytes, so a run of CHUNK_MAX zero bytes at a chunk's start gives the same chunk every time. Found once,
// it is recognised with a memcmp instead of the byte loop, and hashed once.
const ZEROS = Buffer.alloc(CHUNK_MAX);
let zeroCut: { len: number; hash: string } | null = null;
function zeroChunk(): { len: number; hash: string } {
  if (!zeroCut) {
    const len = cutLength(ZEROS, 0, CHUNK_MAX);
    zeroCut = { len, hash: sha256Hex(ZEROS.subarray(0, len)) };
  }
  return zeroCut;
}

/** Calls `chunk` for each chunk in order, with its SHA-256 hex; `part` is a view into a reused buffer
 *  unless `kept` (copy what you keep otherwise). Returns the whole content's SHA-256 hex. */
export async function streamChunks(
  size: number,
  read: ContentReader,
  chunk: (part: Buffer, hash: string, kept: boolean) => Promise<void>,
): Promise<string> {
  const zero = zeroChunk();
  const whole = createHash('sha256');
  const buf = Buffer.allocUnsafe(WINDOW);
  let have = 0; // bytes in buf
  let at = 0; // content offset of buf[0]
  while (at < size) {
    // keep at least CHUNK_MAX bytes ahead of the cut, or everything that is left
    while (have < WINDOW && at + have < size) {
      const n = read(buf.subarray(have), Math.min(WINDOW - have, size - at - have), at + have);
      if (n <= 0) throw new Error(`content ended at ${at + have} of ${size} bytes`);
      have += n;
    }
    let pos = 0;
    while (pos < have && (have - pos >= CHUNK_MAX || at + have === size)) {
      if (have - pos >= CHUNK_MAX && buf.subarray(pos, pos + CHUNK_MAX).equals(ZEROS)) {
        const part = ZEROS.subarray(0, zero.len);
        whole.update(part);
        await chunk(part, zero.hash, true);
        pos += zero.len;
        continue;
      }
      const len = cutLength(buf, pos, have);
      const part = buf.subarray(pos, pos + len);
      whole.update(part);
      await chunk(part, sha256Hex(part), false);
      pos += len;
    }
    buf.copy(buf, 0, pos, have);
    have -= pos;
    at += pos;
  }
  return whole.digest('hex');
}
