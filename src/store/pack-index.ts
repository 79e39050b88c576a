// The on-disk format of a local pack file (local-packs.ts reads packs, local-pack-writer.ts writes them):
//
//   <id>.pack     "MICPACK1", the objects' bytes back to back, the index, then a 16-byte trailer:
//                 index offset (u64 BE), count (u32 BE), "MICI"
//   index entry   key length (u16 BE), key (UTF-8), offset (u48 BE), length (u32 BE), and in a pack whose
//                 trailer ends "MICC" (not "MICI": written before checksums) the CRC-32 (u32 BE) of the
//                 object's bytes when its key is not content-addressed (keys.ts): session records, index
//                 entries, blame indexes. A content-addressed object is checked by its SHA-256 key instead.
//
// The index has no checksum of its own, so readPackIndex checks it for what it must be: valid packable keys
// whose objects tile the bytes between header and index.
import { readSync } from 'node:fs';
import { isContentAddressedKey } from './keys.js';

export const PACKS_DIR = 'packs~';
export const PACK_MAGIC = Buffer.from('MICPACK1');
export const INDEX_MAGIC = 'MICI';
/** The trailer's magic of a pack whose index carries a CRC-32 for each object not named by its hash. */
export const INDEX_MAGIC_CRC = 'MICC';
/** Whether a pack index entry for key (in a MICC pack) carries a CRC-32. */
export const carriesCrc = (key: string): boolean => !isContentAddressedKey(key);
export const TRAILER_BYTES = 16;
/** The keys import-git packs (write-worker.ts): a project's immutable objects, session records, index entries. */
export const PACKABLE =
  /^(projects\/[^/]+\/[^/]+\/((blobs|trees|heads|blame)\/[0-9a-f]{2}\/[0-9a-f]{64}|sessions\/[^/]+\/metadata\.json)|index\/sessions\/[^/]+)$/;

/** Where an object lies in its pack, and the CRC-32 its bytes must have (MICC packs, keys not content-addressed). */
export type Entry = { offset: number; length: number; crc?: number };

/** Reads a pack's index (throws on a malformed one). */
export function readPackIndex(fd: number, size: number): Map<string, Entry> {
  if (size < PACK_MAGIC.length + TRAILER_BYTES) throw new Error('pack too short');
  const t = Buffer.alloc(TRAILER_BYTES);
  readSync(fd, t, 0, TRAILER_BYTES, size - TRAILER_BYTES);
  const magic = t.toString('latin1', 12);
  if (magic !== INDEX_MAGIC && magic !== INDEX_MAGIC_CRC) throw new Error('pack trailer damaged');
  const withCrc = magic === INDEX_MAGIC_CRC;
  const at = Number(t.readBigUInt64BE(0));
  const count = t.readUInt32BE(8);
  if (at < PACK_MAGIC.length || at > size - TRAILER_BYTES) throw new Error('pack index damaged');
  const idx = Buffer.alloc(size - TRAILER_BYTES - at);
  if (idx.length) readSync(fd, idx, 0, idx.length, at);
  const head = Buffer.alloc(PACK_MAGIC.length);
  readSync(fd, head, 0, head.length, 0);
  if (!head.equals(PACK_MAGIC)) throw new Error('pack header damaged');
  const m = new Map<string, Entry>();
  const spans: { offset: number; length: number }[] = [];
  let o = 0;
  for (let i = 0; i < count; i++) {
    if (o + 2 > idx.length) throw new Error('pack index damaged');
    const n = idx.readUInt16BE(o);
    if (o + 2 + n + 10 > idx.length) throw new Error('pack index damaged');
    const key = idx.toString('utf8', o + 2, o + 2 + n);
    const crcBytes = withCrc && carriesCrc(key) ? 4 : 0;
    if (o + 2 + n + 10 + crcBytes > idx.length) throw new Error('pack index damaged');
    const crc = crcBytes ? idx.readUInt32BE(o + 12 + n) : undefined;
    const offset = idx.readUIntBE(o + 2 + n, 6);
    const length = idx.readUInt32BE(o + 8 + n);
    if (offset < PACK_MAGIC.length || offset + length > at) throw new Error('pack index entry damaged');
    if (!PACKABLE.test(key)) throw new Error('pack index names a key no pack holds');
    m.set(key, crc === undefined ? { offset, length } : { offset, length, crc }); // packed twice: the later copy
    spans.push({ offset, length });
    o += 12 + n + crcBytes;
  }
  if (o !== idx.length) throw new Error('pack index damaged');
  // the objects are written back to back: sorted by offset, they cover header..index without gap or overlap
  spans.sort((a, b) => a.offset - b.offset);
  let end = PACK_MAGIC.length;
  for (const e of spans) {
    if (e.offset !== end) throw new Error('pack index entries do not tile the pack');
    end += e.length;
  }
  if (end !== at) throw new Error('pack index entries do not tile the pack');
  return m;
}
