// Chunk manifests: what blobs/<h> holds for content above CHUNK_THRESHOLD (h stays the SHA-256 of the
// whole content). Stored format, after the FORMAT_CHUNKED header byte:
//   u8 version (1) | 32 B whole-content hash | u64 size | u32 count | count x (32 B chunk hash, u32 length)
//   | 32 B SHA-256 of everything before it (a corrupt manifest is detected without fetching any chunk)
// Each chunk is an ordinary blob (RAW/ZSTD), never itself a manifest.
import { FORMAT_CHUNKED, decodeStored, sha256Bytes, sha256Hex } from './codec.js';
import { CHUNK_MAX } from './chunker.js';

/** Content above this many bytes is stored as chunks (>= CHUNK_MAX, so a chunk is never chunked). */
export const CHUNK_THRESHOLD = CHUNK_MAX;

const VERSION = 1;
const HEAD = 1 + 32 + 8 + 4;
const ENTRY = 32 + 4;
const SUM = 32;

export interface ChunkRef {
  hash: string;
  length: number;
}

export interface Manifest {
  /** SHA-256 of the whole content */
  hash: string;
  size: number;
  chunks: readonly ChunkRef[];
  /** starts[i] is the content offset of chunk i; starts[count] === size */
  starts: readonly number[];
}

export function makeManifest(hash: string, chunks: ChunkRef[]): Manifest {
  const starts = [0];
  for (const c of chunks) starts.push(starts[starts.length - 1]! + c.length);
  return Object.freeze({ hash, size: starts[starts.length - 1]!, chunks: Object.freeze(chunks), starts: Object.freeze(starts) });
}

/** The stored bytes, header byte included. */
export function encodeManifest(m: Manifest): Buffer {
  const body = Buffer.alloc(1 + HEAD + m.chunks.length * ENTRY);
  body[0] = FORMAT_CHUNKED;
  body[1] = VERSION;
  body.write(m.hash, 2, 'hex');
  body.writeBigUInt64BE(BigInt(m.size), 34);
  body.writeUInt32BE(m.chunks.length, 42);
  let p = 1 + HEAD;
  for (const c of m.chunks) {
    body.write(c.hash, p, 'hex');
    body.writeUInt32BE(c.length, p + 32);
    p += ENTRY;
  }
  return Buffer.concat([body, sha256Bytes(body)]);
}

/** Parses and checks a stored manifest; throws a plain Error when it is malformed or corrupt. */
export function decodeManifest(stored: Buffer): Manifest {
  if (stored.length < 1 + HEAD + SUM || stored[0] !== FORMAT_CHUNKED) throw new Error('not a chunk manifest');
  const body = stored.subarray(0, stored.length - SUM);
  if (!sha256Bytes(body).equals(stored.subarray(stored.length - SUM))) throw new Error('manifest checksum mismatch');
  if (body[1] !== VERSION) throw new Error(`unknown manifest version ${body[1]}`);
  const size = Number(body.readBigUInt64BE(34));
  const count = body.readUInt32BE(42);
  if (body.length !== 1 + HEAD + count * ENTRY) throw new Error('manifest length does not match its chunk count');
  const chunks: ChunkRef[] = [];
  for (let p = 1 + HEAD; p < body.length; p += ENTRY) {
    const length = body.readUInt32BE(p + 32);
    if (length === 0 || length > CHUNK_MAX) throw new Error(`bad chunk length ${length}`);
    chunks.push({ hash: body.toString('hex', p, p + 32), length });
  }
  const m = makeManifest(body.toString('hex', 2, 34), chunks);
  if (m.size !== size) throw new Error('chunk lengths do not add up to the size');
  return m;
}

export function isManifest(stored: Buffer): boolean {
  return stored.length > 0 && stored[0] === FORMAT_CHUNKED;
}

/** Do stored blob bytes match the hash their key names? A manifest is checked by its checksum and
 *  the hash it records (its chunks are checked when they are read). */
export function storedBlobMatches(stored: Buffer, hash: string): boolean {
  try {
    if (isManifest(stored)) return decodeManifest(stored).hash === hash;
    return sha256Hex(decodeStored(stored)) === hash;
  } catch {
    return false;
  }
}

/** Index of the chunk holding content offset `off` (0 <= off < size). */
export function chunkIndexAt(m: Manifest, off: number): number {
  let lo = 0,
    hi = m.chunks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (m.starts[mid]! <= off) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
