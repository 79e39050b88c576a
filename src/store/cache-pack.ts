// The disk cache's file format (disk-cache.ts): append-only pack files, <cache>/packs/<name>.pack, each a
// run of records
//
//   magic u32 "MCP1" | kind u8 (1 entry, 2 tombstone) | 0 u8 | key length u16 | data length u32
//   | CRC-32 u32 of the 12 bytes before it and the key | key (UTF-8) | data
//
// (little-endian). One file per object cost more than its bytes (inode allocation and a rename per object:
// docs/perf-notes.md); a record costs one positional write into a file that stays open. Each writer (the
// main thread, the S3 fetch worker) appends to packs of its own, so no two writers share a file, and
// nothing is ever rewritten in place: eviction deletes whole packs, oldest first.
// Crash safety: a record's header is checked by its CRC and its data against the hash its key names when
// read (as before), so a torn tail (a SIGKILL during an append, a hole left by a write that failed) ends a
// pack's scan and costs only what follows it; nothing is truncated (another process may still append).
import { fstatSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { threadId } from 'node:worker_threads';

export const PACK_DIR = 'packs';
export const PACK_SUFFIX = '.pack';
const MAGIC = 0x3150434d; // "MCP1"
export const HEADER_BYTES = 16;
export const KIND_ENTRY = 1;
export const KIND_TOMBSTONE = 2;
/** Largest pack a writer starts a new one after (a larger single record makes a pack of its own). */
export const PACK_BYTES_MAX = 64 * 1024 * 1024;

/** Where a record's data lies: pack file name (in PACK_DIR), offset of the data, its length, and the bytes
 *  the whole record takes in the pack. */
export interface PackLocation {
  pack: string;
  offset: number;
  size: number;
  recordBytes: number;
}

/** The header and key of one record. */
export function encodeHeader(kind: number, key: string, dataLength: number): Buffer {
  const k = Buffer.from(key, 'utf8');
  const h = Buffer.allocUnsafe(HEADER_BYTES + k.length);
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt8(kind, 4);
  h.writeUInt8(0, 5);
  h.writeUInt16LE(k.length, 6);
  h.writeUInt32LE(dataLength, 8);
  k.copy(h, HEADER_BYTES);
  h.writeUInt32LE(crc32(k, crc32(h.subarray(0, 12))), 12);
  return h;
}

let packSeq = 0;
/** A pack's name: creation time and this thread's count first (the scan's order), then what makes it unique
 *  across writers. */
export function newPackName(): string {
  const seq = (packSeq++ % 0x1000000).toString(16).padStart(6, '0');
  return `${Date.now().toString(16).padStart(12, '0')}-${seq}-${threadId.toString(36)}-${randomBytes(6).toString('hex')}${PACK_SUFFIX}`;
}

export interface ScannedRecord {
  kind: number;
  key: string;
  /** offset of the data */
  offset: number;
  size: number;
  recordBytes: number;
}

/**
 * The records of a pack up to its first damaged or incomplete one (a torn tail), and the bytes they span;
 * read in blocks, so a pack of many small records costs few reads.
 */
export async function scanPack(file: string): Promise<{ records: ScannedRecord[]; bytes: number; fileBytes: number }> {
  const fh = await open(file, 'r');
  try {
    const fileBytes = (await fh.stat()).size;
    const records: ScannedRecord[] = [];
    // headers are read in small blocks: a block holds many records of small objects, and for large ones
    // (S3 chunks) a block per header, not the record's data (a 1 MiB block read the whole of a pack of
    // large records at start-up: ~1 ms of CPU per cached MiB on the first read after a restart)
    const BLOCK = 64 << 10;
    let block = Buffer.alloc(0);
    let blockAt = 0;
    /** bytes [pos, pos + n) from the block, reading a new one when they are not all in it */
    const bytesAt = async (pos: number, n: number): Promise<Buffer | null> => {
      if (pos + n > fileBytes) return null;
      if (pos < blockAt || pos + n > blockAt + block.length) {
        const b = Buffer.allocUnsafe(Math.max(BLOCK, n));
        const { bytesRead } = await fh.read(b, 0, Math.min(b.length, fileBytes - pos), pos);
        block = b.subarray(0, bytesRead);
        blockAt = pos;
        if (bytesRead < n) return null;
      }
      return block.subarray(pos - blockAt, pos - blockAt + n);
    };
    let pos = 0;
    for (;;) {
      const h = await bytesAt(pos, HEADER_BYTES);
      if (!h || h.readUInt32LE(0) !== MAGIC) break;
      const kind = h.readUInt8(4);
      const keyLen = h.readUInt16LE(6);
      const size = h.readUInt32LE(8);
      const crc = h.readUInt32LE(12);
      const head = Buffer.from(h.subarray(0, 12)); // the block may be replaced by the key's read
      const k = await bytesAt(pos + HEADER_BYTES, keyLen);
      if (!k || crc32(k, crc32(head)) !== crc || (kind !== KIND_ENTRY && kind !== KIND_TOMBSTONE)) break;
      const recordBytes = HEADER_BYTES + keyLen + size;
      if (pos + recordBytes > fileBytes) break; // its data was not all written
      records.push({ kind, key: k.toString('utf8'), offset: pos + HEADER_BYTES + keyLen, size, recordBytes });
      pos += recordBytes;
    }
    return { records, bytes: pos, fileBytes };
  } finally {
    await fh.close();
  }
}

interface OpenPack {
  name: string;
  fh: Promise<FileHandle>;
  /** bytes reserved so far (the next record's position) */
  size: number;
  writing: number;
  /** records written to it */
  written: number;
  full: boolean;
  closed: boolean;
}

/** After a failed write (a full disk), appends fail at once for this long rather than start a pack each. */
const FAILED_PAUSE_MS = 1000;

/**
 * Appends records to packs of its own in `dir` (PACK_DIR of a cache), starting a new pack once one holds
 * packBytes. Positions are reserved synchronously and written with one positional write each, so appends
 * run concurrently on the thread pool. A failed or short write (a full disk) loses only that record: the
 * pack is left (a later scan stops at the gap) and the next append starts a new one.
 */
export class PackAppender {
  private cur: OpenPack | null = null;
  private failedAt = -Infinity;

  constructor(
    readonly dir: string,
    readonly packBytes: number,
  ) {}

  /** Appends a record; its location, or null when it could not be written. */
  async append(key: string, data: Uint8Array | null, kind = KIND_ENTRY): Promise<PackLocation | null> {
    const header = encodeHeader(kind, key, data?.length ?? 0);
    const recordBytes = header.length + (data?.length ?? 0);
    if (performance.now() - this.failedAt < FAILED_PAUSE_MS) return null;
    for (let attempt = 1; ; attempt++) {
      const p = this.packFor(recordBytes);
      const pos = p.size;
      p.size += recordBytes;
      p.writing++;
      try {
        const fh = await p.fh;
        if (fstatSync(fh.fd).nlink === 0) {
          // evicted (DiskCache deletes whole packs) while this writer still had it: start a new one
          p.full = true;
          if (attempt < 2) continue;
          return null;
        }
        const { bytesWritten } = await fh.writev(data && data.length ? [header, data] : [header], pos);
        if (bytesWritten !== recordBytes) throw new Error('short write');
        p.written++;
        return { pack: p.name, offset: pos + header.length, size: data?.length ?? 0, recordBytes };
      } catch {
        p.full = true; // nothing more goes after a gap
        this.failedAt = performance.now();
        return null;
      } finally {
        p.writing--;
        if (p !== this.cur || p.full) this.retire(p);
      }
    }
  }

  /** The pack the next record of recordBytes goes to (a new one when the current is full or gone). */
  private packFor(recordBytes: number): OpenPack {
    const p = this.cur;
    if (p && !p.full && (p.size === 0 || p.size + recordBytes <= this.packBytes)) return p;
    if (p) this.retire(p);
    const name = newPackName();
    const fresh: OpenPack = { name, fh: open(join(this.dir, name), 'wx'), size: 0, writing: 0, written: 0, full: false, closed: false };
    fresh.fh.catch(() => {}); // reported by the append that waits for it
    this.cur = fresh;
    return fresh;
  }

  /** Closes the current pack (appends after this start a new one). */
  close(): void {
    if (this.cur) this.retire(this.cur);
    this.cur = null;
  }

  /** A pack no longer appended to: closed once its writes are done (and removed if none of them succeeded). */
  private retire(p: OpenPack): void {
    p.full = true;
    if (p.writing > 0 || p.closed) return;
    p.closed = true;
    const file = join(this.dir, p.name);
    p.fh
      .then(
        async (fh) => {
          await fh.close();
          if (p.written === 0) await rm(file, { force: true });
        },
        () => {},
      )
      .catch(() => {});
  }
}
