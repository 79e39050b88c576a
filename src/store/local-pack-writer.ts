// Writes one pack (format in local-packs.ts) with synchronous calls: for a worker thread of a bulk writer
// (import-git's WriteBehindBackend). Objects are appended to <id>.pack.tmp; finish() adds the index,
// fsyncs, renames the file into place and fsyncs the directory. Nothing names the objects before the
// caller moves a head, after finish(): a crash leaves a temporary file, removed by the next writer.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
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

export class PackWriter {
  readonly dir: string;
  readonly tmpPath: string;
  readonly id: string;
  private fd: number;
  private offset = PACK_MAGIC.length;
  private readonly index: Buffer[] = [];
  private readonly keys = new Set<string>();

  constructor(root: string) {
    this.dir = join(root, PACKS_DIR);
    mkdirSync(this.dir, { recursive: true });
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
    const at = this.offset;
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, at + done);
    this.offset += data.length;
    const k = Buffer.from(key, 'utf8');
    // an object not named by its hash gets a CRC-32, so that a flipped bit in it is caught (local-packs.ts)
    const withCrc = carriesCrc(key);
    const e = Buffer.alloc(12 + k.length + (withCrc ? 4 : 0));
    e.writeUInt16BE(k.length, 0);
    k.copy(e, 2);
    e.writeUIntBE(at, 2 + k.length, 6);
    e.writeUInt32BE(data.length, 8 + k.length);
    if (withCrc) e.writeUInt32BE(crc32(data) >>> 0, 12 + k.length);
    this.index.push(e);
    this.keys.add(key);
    return { offset: at, length: data.length };
  }

  /** Index, fsync, rename into place, fsync of the directory. Returns the pack's path (null: it was empty). */
  finish(): string | null {
    if (!this.index.length) {
      this.abort();
      return null;
    }
    const t = Buffer.alloc(TRAILER_BYTES);
    t.writeBigUInt64BE(BigInt(this.offset), 0);
    t.writeUInt32BE(this.index.length, 8);
    t.write(INDEX_MAGIC_CRC, 12, 'latin1');
    const tail = Buffer.concat([...this.index, t]);
    let done = 0;
    while (done < tail.length) done += writeSync(this.fd, tail, done, tail.length - done, this.offset + done);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.tmpPath, this.path);
    const d = openSync(this.dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
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
