// Hashing and the stored byte format of compressed objects (blobs and tree nodes).
//
// Stored format: 1 header byte, then the payload.
//   0x00 RAW   payload is the content itself
//   0x01 ZSTD  payload is one zstd frame holding the content
//   0x02 CHUNKED  a chunk manifest (manifest.ts): large blobs only, never decoded here
// Small or incompressible content is stored raw.
import * as crypto from 'node:crypto';
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi';
import zstdBinding from 'zstd-napi/binding.js';

export const FORMAT_RAW = 0;
export const FORMAT_ZSTD = 1;
export const FORMAT_CHUNKED = 2;

/** Below this size compression is not attempted. */
export const COMPRESS_MIN_BYTES = 64;
const ZSTD_LEVEL = 2;

/** SHA-256 of the bytes (or of the UTF-8 of a string), lowercase hex. */
export function sha256Hex(data: Buffer | string): string {
  return oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
}

/** Raw 32-byte SHA-256 digest. */
export function sha256Bytes(data: Buffer | string): Buffer {
  return oneShot ? oneShot('sha256', data, 'buffer') : crypto.createHash('sha256').update(data).digest();
}

/** crypto.hash (Node >= 20.12): no Hash object per call, 1.5-8 us less a hash of 0.3-8 KB (import-git
 *  hashes ~7 objects a commit). */
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;
interface OneShot {
  (alg: string, data: Buffer | string, enc: 'hex'): string;
  (alg: string, data: Buffer | string, enc: 'buffer'): Buffer;
}

/** Stored bytes whose content was already checked against its hash off the main thread (the S3 fetch
 *  worker, s3-fetch-worker.ts): the hash is not computed again for them, nor the content decompressed again
 *  when the worker sent it along. Keyed by the Buffer object. */
const checked = new WeakMap<Uint8Array, { hash: string; content?: Buffer }>();

/** Records that `stored` holds content whose SHA-256 is `hash` (see checked), decoded as `content` if given. */
export function markChecked(stored: Uint8Array, hash: string, content?: Buffer): void {
  checked.set(stored, content ? { hash, content } : { hash });
}

/** The hash `stored` was checked against (markChecked), if any. */
export function checkedHash(stored: Uint8Array): string | undefined {
  return checked.get(stored)?.hash;
}

/** The decoded content of `stored` if it was checked against `hash` and decoded where it was checked. */
export function checkedContent(stored: Uint8Array, hash: string): Buffer | undefined {
  const c = checked.get(stored);
  return c?.hash === hash ? c.content : undefined;
}

/** Encode content into the stored format. */
export function encodeStored(content: Buffer): Buffer {
  if (content.length >= COMPRESS_MIN_BYTES) {
    const z = zstdCompress(content, { compressionLevel: ZSTD_LEVEL });
    if (z.length < content.length) return Buffer.concat([Buffer.of(FORMAT_ZSTD), z]);
  }
  return Buffer.concat([Buffer.of(FORMAT_RAW), content]);
}

/** Bytes encodeStoredInto may write for content of n bytes. */
export function storedBound(n: number): number {
  return 1 + Math.max(n, zstdBinding.compressBound(n));
}

/** This thread's compression context for encodeStoredInto (its parameters set once, not per call). */
let cctx: InstanceType<typeof zstdBinding.CCtx> | null = null;

/** encodeStored written into out at offset `at` (out must have storedBound(content.length) bytes from there):
 *  the same bytes, without the three buffers encodeStored allocates (zstd's output, its trimmed copy, the
 *  concatenation with the header). For a bulk writer (import-git's workers). Returns the length written. */
export function encodeStoredInto(content: Uint8Array, out: Buffer, at: number): number {
  if (content.length >= COMPRESS_MIN_BYTES) {
    if (!cctx) {
      cctx = new zstdBinding.CCtx();
      cctx.setParameter(zstdBinding.CParameter.compressionLevel, ZSTD_LEVEL);
    }
    const n = cctx.compress2(out.subarray(at + 1), content);
    if (n < content.length) {
      out[at] = FORMAT_ZSTD;
      return n + 1;
    }
  }
  out[at] = FORMAT_RAW;
  out.set(content, at + 1);
  return content.length + 1;
}

/** Decode the stored format; throws a plain Error on malformed input (callers wrap it). */
export function decodeStored(stored: Buffer): Buffer {
  if (stored.length === 0) throw new Error('empty object (no format header)');
  const payload = stored.subarray(1);
  switch (stored[0]) {
    case FORMAT_RAW:
      return payload;
    case FORMAT_ZSTD:
      return zstdDecompress(payload);
    case FORMAT_CHUNKED:
      throw new Error('a chunk manifest, not content');
    default:
      throw new Error(`unknown format header 0x${stored[0]!.toString(16)}`);
  }
}

/** This thread's decompression context for decodeStoredInto. */
let dctx: InstanceType<typeof zstdBinding.DCtx> | null = null;

/** The content of a stored ZSTD object decompressed into `out` (no buffer allocated); returns its length.
 *  Throws a plain Error when the frame is malformed or its content does not fit in `out`. */
export function decodeStoredInto(stored: Buffer, out: Buffer): number {
  if (stored[0] !== FORMAT_ZSTD) throw new Error('not a zstd object');
  dctx ??= new zstdBinding.DCtx();
  return dctx.decompress(out, stored.subarray(1));
}
