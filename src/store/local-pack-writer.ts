// Writes one pack (format in local-packs.ts) with synchronous calls: for a worker thread of a bulk writer
// (import-git's WriteBehindBackend). Objects are appended to <id>.pack.tmp; finish() adds the index,
// fsyncs, renames the file into place and fsyncs the directory. Nothing names the objects before the
// caller moves a head, after finish(): a crash leaves a temporary file, removed by the next writer.
// Nothing is buffered here: appendRun writes its objects at once (a bulk writer lays a batch out in one
// buffer and hands it over whole: one write a batch, not one per object).
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { carriesCrc, INDEX_MAGIC_CRC, PACK_MAGIC, PACKS_DIR, TRAILER_BYTES } from './pack-index.js';

/** Removes temporary packs of writers that are gone (their process no longer runs). */
function sweep(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /\.tmp-(\d+)-/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') unlinkSync(join(dir, name));
    }
  }
}

function fsyncDir(path: string): void {
  const d = openSync(path, 'r');
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}

export class PackWriter {
  readonly dir: string;
  readonly tmpPath: string;
  readonly id: string;
  private fd: number;
  private offset = PACK_MAGIC.length;
  private readonly entryKeys: string[] = [];
  private readonly entryOffsets: number[] = [];
  private readonly entryLengths: number[] = [];
  /** -1: none (a content-addressed key) */
  private readonly entryCrcs: number[] = [];
  private readonly keys = new Set<string>();
  /** the first directory mkdir created for this.dir, if it created any */
  private readonly created: string | undefined;

  constructor(root: string) {
    this.dir = join(root, PACKS_DIR);
    this.created = mkdirSync(this.dir, { recursive: true });
    sweep(this.dir);
    this.id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    this.tmpPath = join(this.dir, `${this.id}.pack.tmp-${process.pid}-${threadId}`);
    this.fd = openSync(this.tmpPath, 'wx');
    writeSync(this.fd, PACK_MAGIC);
  }

  get path(): string {
    return join(this.dir, `${this.id}.pack`);
  }

  get bytes(): number {
    return this.offset;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Appends the object stored at key (a valid key, not a ref); returns where it is. */
  append(key: string, data: Uint8Array): { offset: number; length: number } {
    const at = this.appendRun(data, data.length, [key], [0], [data.length]);
    return { offset: at, length: data.length };
  }

  /** Appends objects laid out back to back in buf[0, length), object i (stored at keys[i]) at starts[i] with
   *  lengths[i] bytes, with one write; returns the offset in the pack of buf[0]. */
  appendRun(buf: Uint8Array, length: number, keys: readonly string[], starts: readonly number[], lengths: readonly number[]): number {
    const at = this.offset;
    let done = 0;
    while (done < length) done += writeSync(this.fd, buf, done, length - done, at + done);
    this.offset += length;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      this.entryKeys.push(key);
      this.entryOffsets.push(at + starts[i]!);
      this.entryLengths.push(lengths[i]!);
      // an object not named by its hash gets a CRC-32, so that a flipped bit in it is caught (local-packs.ts)
      this.entryCrcs.push(carriesCrc(key) ? crc32(buf.subarray(starts[i]!, starts[i]! + lengths[i]!)) >>> 0 : -1);
      this.keys.add(key);
    }
    return at;
  }

  /** The index: per object its key length, key, offset, length and (carriesCrc) CRC-32 (pack-index.ts). */
  private encodeIndex(): Buffer {
    const keys = this.entryKeys.map((k) => Buffer.from(k, 'utf8'));
    let size = 0;
    for (let i = 0; i < keys.length; i++) size += 12 + keys[i]!.length + (this.entryCrcs[i]! >= 0 ? 4 : 0);
    const e = Buffer.alloc(size);
    let o = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      e.writeUInt16BE(k.length, o);
      k.copy(e, o + 2);
      e.writeUIntBE(this.entryOffsets[i]!, o + 2 + k.length, 6);
      e.writeUInt32BE(this.entryLengths[i]!, o + 8 + k.length);
      o += 12 + k.length;
      if (this.entryCrcs[i]! >= 0) {
        e.writeUInt32BE(this.entryCrcs[i]!, o);
        o += 4;
      }
    }
    return e;
  }

  /** Index, fsync, rename into place, fsync of the directory. Returns the pack's path (null: it was empty). */
  finish(): string | null {
    if (!this.entryKeys.length) {
      this.abort();
      return null;
    }
    const t = Buffer.alloc(TRAILER_BYTES);
    t.writeBigUInt64BE(BigInt(this.offset), 0);
    t.writeUInt32BE(this.entryKeys.length, 8);
    t.write(INDEX_MAGIC_CRC, 12, 'latin1');
    const tail = Buffer.concat([this.encodeIndex(), t]);
    let done = 0;
    while (done < tail.length) done += writeSync(this.fd, tail, done, tail.length - done, this.offset + done);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.tmpPath, this.path);
    fsyncDir(this.dir);
    // a packs directory this writer created is named durably too (its parent, up to the first directory that
    // existed), so that a caller needs no syncfs after finish()
    for (let d = this.dir; this.created && dirname(d) !== d; d = dirname(d)) {
      fsyncDir(dirname(d));
      if (d === this.created) break;
    }
    return this.path;
  }

  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    try {
      unlinkSync(this.tmpPath);
    } catch {
      /* already gone */
    }
  }
}
