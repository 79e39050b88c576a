// The journal's binary format. A journal file starts with MAGIC; then come frames, one per write (a group
// commit): u32 LE body length, u32 LE CRC-32 of the body, the body. A body is records back to back, each a
// type byte and its fields (numbers as f64 LE, strings as u32 LE byte length + UTF-8). A frame
// that is cut short or fails its CRC ends the journal: it was torn by a crash before its fdatasync, so
// nothing in it was acknowledged.
//
// Journals written before this format are JSON lines (the first byte is '{'); they are still read, and
// appended to as JSON until the next checkpoint starts a new generation in this format.
import { crc32 } from 'node:zlib';
import { NfsTimeRecord, type FileType } from './attrs.js';
import type { InodeState } from './inode.js';

export type JournalRecord =
  | { t: 'i'; s: InodeState } // inode state
  | { t: 'a'; d: number; n: string; i: number; q: number } // directory entry added
  | { t: 'r'; d: number; n: string } // directory entry removed
  | { t: 'g'; i: number }; // inode freed

export const MAGIC = Buffer.from('MICJNL1\n', 'latin1');
const FRAME_HEAD = 8;
const T_INODE = 1,
  T_ADD = 2,
  T_REMOVE = 3,
  T_FREE = 4;
const F_LOCAL = 1,
  F_BLOB = 2,
  F_TREE = 4,
  F_TARGET = 8,
  F_VERF = 16,
  F_RDEV = 32;

export type JournalFormat = 'binary' | 'json';

/** What a journal file holds: its format and where its last whole record ends (what follows is torn). */
export function scanJournal(buf: Buffer): { format: JournalFormat; end: number } {
  if (buf.length >= MAGIC.length && buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    let at = MAGIC.length;
    for (;;) {
      const body = frameBody(buf, at);
      if (!body) return { format: 'binary', end: at };
      at = body.byteOffset - buf.byteOffset + body.length;
    }
  }
  if (buf.length > 0 && buf[0] === 0x7b /* { */) {
    const end = buf.lastIndexOf(0x0a) + 1;
    if (end > 0) return { format: 'json', end };
  }
  // empty, or a header torn by a crash before anything was synced
  return { format: 'binary', end: 0 };
}

/** The body of the frame at `at`, or null if it is cut short or corrupt. */
function frameBody(buf: Buffer, at: number): Buffer | null {
  if (at + FRAME_HEAD > buf.length) return null;
  const len = buf.readUInt32LE(at);
  if (at + FRAME_HEAD + len > buf.length) return null;
  const body = buf.subarray(at + FRAME_HEAD, at + FRAME_HEAD + len);
  return crc32(body) === buf.readUInt32LE(at + 4) ? body : null;
}

/** Every whole record of a journal file (either format). */
export function decodeJournal(buf: Buffer): JournalRecord[] {
  const { format, end } = scanJournal(buf);
  const out: JournalRecord[] = [];
  if (format === 'json') {
    for (const line of buf.toString('utf8', 0, end).split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as JournalRecord);
      } catch {
        break; // a torn line ends the log
      }
    }
    return out;
  }
  let at = MAGIC.length;
  while (at < end) {
    const body = frameBody(buf, at)!;
    new BodyReader(body).records(out);
    at += FRAME_HEAD + body.length;
  }
  return out;
}

class BodyReader {
  private at = 0;
  constructor(private readonly b: Buffer) {}

  records(out: JournalRecord[]): void {
    const b = this.b;
    while (this.at < b.length) {
      const t = b[this.at++];
      if (t === T_INODE) out.push({ t: 'i', s: this.inode() });
      else if (t === T_ADD) out.push({ t: 'a', d: this.f64(), n: this.str(), i: this.f64(), q: this.f64() });
      else if (t === T_REMOVE) out.push({ t: 'r', d: this.f64(), n: this.str() });
      else if (t === T_FREE) out.push({ t: 'g', i: this.f64() });
      else throw new Error(`journal: unknown record type ${t}`);
    }
  }

  private inode(): InodeState {
    const ino = this.f64();
    const type = this.b[this.at++] as FileType;
    const s: InodeState = {
      ino,
      type,
      mode: this.f64(),
      uid: this.f64(),
      gid: this.f64(),
      nlink: this.f64(),
      size: this.f64(),
      atime: new NfsTimeRecord(this.f64(), this.f64()),
      mtime: new NfsTimeRecord(this.f64(), this.f64()),
      ctime: new NfsTimeRecord(this.f64(), this.f64()),
      blob: null,
      local: false,
      parent: this.f64(),
      tree: null,
    };
    const flags = this.b[this.at++];
    s.local = (flags & F_LOCAL) !== 0;
    if (flags & F_BLOB) s.blob = this.str();
    if (flags & F_TREE) s.tree = this.str();
    if (flags & F_TARGET) s.target = this.str();
    if (flags & F_VERF) s.verf = this.str();
    if (flags & F_RDEV) s.rdev = [this.f64(), this.f64()];
    return s;
  }

  private f64(): number {
    const v = this.b.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }
  private u32(): number {
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  private str(): string {
    const n = this.u32();
    const v = this.b.toString('utf8', this.at, this.at + n);
    this.at += n;
    return v;
  }
}

/** Encodes records into frames; one scratch buffer, reused. */
export class FrameWriter {
  private b = Buffer.allocUnsafe(64 * 1024);
  private at = FRAME_HEAD;

  /** The records as one frame, in the scratch buffer: valid until the next frame is made (no buffer allocated
   *  and copied per group commit: Journal writes it at once, and copies it only when the write fails). */
  frame(records: JournalRecord[]): Buffer {
    this.at = FRAME_HEAD;
    for (const r of records) this.record(r);
    const b = this.b;
    const len = this.at - FRAME_HEAD;
    b.writeUInt32LE(len, 0);
    b.writeUInt32LE(crc32(b.subarray(FRAME_HEAD, this.at)), 4);
    return b.subarray(0, this.at);
  }

  private record(r: JournalRecord): void {
    this.room(64);
    switch (r.t) {
      case 'i':
        this.b[this.at++] = T_INODE;
        this.inode(r.s);
        break;
      case 'a':
        this.b[this.at++] = T_ADD;
        this.f64(r.d);
        this.str(r.n);
        this.room(16);
        this.f64(r.i);
        this.f64(r.q);
        break;
      case 'r':
        this.b[this.at++] = T_REMOVE;
        this.f64(r.d);
        this.str(r.n);
        break;
      case 'g':
        this.b[this.at++] = T_FREE;
        this.f64(r.i);
        break;
    }
  }

  private inode(s: InodeState): void {
    this.room(160);
    this.f64(s.ino);
    this.b[this.at++] = s.type;
    this.f64(s.mode);
    this.f64(s.uid);
    this.f64(s.gid);
    this.f64(s.nlink);
    this.f64(s.size);
    this.f64(s.atime.sec);
    this.f64(s.atime.nsec);
    this.f64(s.mtime.sec);
    this.f64(s.mtime.nsec);
    this.f64(s.ctime.sec);
    this.f64(s.ctime.nsec);
    this.f64(s.parent);
    let flags = s.local ? F_LOCAL : 0;
    if (s.blob !== null) flags |= F_BLOB;
    if (s.tree !== null) flags |= F_TREE;
    if (s.target !== undefined) flags |= F_TARGET;
    if (s.verf !== undefined) flags |= F_VERF;
    if (s.rdev !== undefined) flags |= F_RDEV;
    this.b[this.at++] = flags;
    if (s.blob !== null) this.str(s.blob);
    if (s.tree !== null) this.str(s.tree);
    if (s.target !== undefined) this.str(s.target);
    if (s.verf !== undefined) this.str(s.verf);
    if (s.rdev !== undefined) {
      this.room(16);
      this.f64(s.rdev[0]);
      this.f64(s.rdev[1]);
    }
  }

  private room(n: number): void {
    if (this.at + n <= this.b.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.b.length * 2, this.at + n));
    this.b.copy(grown, 0, 0, this.at);
    this.b = grown;
  }
  private f64(v: number): void {
    this.at = this.b.writeDoubleLE(v, this.at);
  }
  private str(v: string): void {
    this.room(4 + v.length * 3);
    const n = this.b.write(v, this.at + 4, 'utf8');
    this.b.writeUInt32LE(n, this.at);
    this.at += 4 + n;
  }
}
