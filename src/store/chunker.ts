// Content-defined chunking (FastCDC: gear hash, normalized chunking, sub-minimum skipping).
// A cut depends only on the 32 bytes before it and on where the chunk started, so an edit moves the
// boundaries near it only: the cuts after it fall back into step within a chunk or two.
// Deterministic forever: changing the gear table or the masks re-chunks every file (dedup is lost, data is not).
import { createHash } from 'node:crypto';

export const CHUNK_MIN = 256 * 1024;
export const CHUNK_AVG = 1024 * 1024;
export const CHUNK_MAX = 4 * 1024 * 1024;

/** Gear table: 256 pseudo-random 32-bit words derived from SHA-256 (fixed). */
const GEAR = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) t[i] = createHash('sha256').update(`mic-fs gear ${i}`).digest().readInt32BE(0);
  return t;
})();

// Normalization level 2 around 2^20: 22 bits must be zero before the average size, 18 after.
// The high bits of the hash carry the most bytes of the window, so the masks take those.
const MASK_S = 0xfffffc00 | 0;
const MASK_L = 0xffffc000 | 0;

/** Length of the chunk starting at `start` (data ends at `end`). */
export function cutLength(data: Uint8Array, start: number, end: number): number {
  let n = end - start;
  if (n <= CHUNK_MIN) return n;
  if (n > CHUNK_MAX) n = CHUNK_MAX;
  const normal = n < CHUNK_AVG ? n : CHUNK_AVG;
  const g = GEAR;
  let h = 0;
  let i = CHUNK_MIN;
  for (; i < normal; i++) {
    h = ((h << 1) + g[data[start + i]!]!) | 0;
    if ((h & MASK_S) === 0) return i + 1;
  }
  for (; i < n; i++) {
    h = ((h << 1) + g[data[start + i]!]!) | 0;
    if ((h & MASK_L) === 0) return i + 1;
  }
  return n;
}

/** Chunk lengths covering all of data, in order (none for empty data). */
export function chunkLengths(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let pos = 0; pos < data.length;) {
    const len = cutLength(data, pos, data.length);
    out.push(len);
    pos += len;
  }
  return out;
}
