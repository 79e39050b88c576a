// XDR encoders/decoders for the NFSv3 data types (RFC 1813 section 2.5 and 2.6).
import { isUtf8 } from 'node:buffer';
import { XdrError, XdrWriter, type XdrReader } from '../../rpc/xdr.js';
import {
  NfsStatus,
  NfsTimeRecord,
  type Attrs,
  type CreateHow,
  type CreateResult,
  type NfsTime,
  type SetAttrs,
  type Wcc,
  type WccAttr,
} from '../fs/file-system.js';

/** NFS3_FHSIZE (RFC 1813 2.4). */
export const FHSIZE = 64;
/** Longest filename we pass on (the fs enforces the same limit; PATHCONF name_max). */
export const NAME_MAX = 255;
/** XDR cap on filename3 (a string without a bound in the RFC); longer is GARBAGE_ARGS. */
export const NAME_XDR_MAX = 4096;
/** nfspath3 cap for symlink targets. */
export const PATH_MAX = 4096;
/** Size of an encoded fattr3. */
export const FATTR3_SIZE = 84;

/** nfs_fh3: opaque<NFS3_FHSIZE> (2.5). A longer handle is an XdrError → GARBAGE_ARGS. */
export function readFh(r: XdrReader): Buffer {
  return r.opaque(FHSIZE);
}

export function writeFh(w: XdrWriter, fh: Buffer): void {
  w.opaque(fh);
}

/**
 * filename3 (2.5) decoded from raw bytes. Returns the name, or an NfsStatus number when
 * the name is not acceptable: longer than 255 bytes → NAMETOOLONG, not UTF-8 → INVAL.
 * The procedure reports the status after decoding the remaining arguments.
 */
export function readName(r: XdrReader): string | NfsStatus {
  const raw = r.opaque(NAME_XDR_MAX);
  if (raw.length > NAME_MAX) return NfsStatus.NAMETOOLONG;
  // ASCII fast path; isUtf8 only for names with high bytes
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] >= 0x80) return isUtf8(raw) ? raw.toString('utf8') : NfsStatus.INVAL;
  }
  return raw.toString('latin1');
}

/** UTF-8 length of a name: counted in JS while it is ASCII (most names), Buffer.byteLength otherwise. */
export function utf8Length(s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** nfspath3 (2.5): symlink targets; too long → NAMETOOLONG, not UTF-8 → INVAL. */
export function readPath(r: XdrReader): string | NfsStatus {
  const raw = r.opaque(PATH_MAX + 1024);
  if (raw.length > PATH_MAX) return NfsStatus.NAMETOOLONG;
  if (!isUtf8(raw)) return NfsStatus.INVAL;
  return raw.toString('utf8');
}

/** diropargs3 (2.6). */
export interface DirOpArgs {
  dir: Buffer;
  name: string | NfsStatus;
}

export function readDirOpArgs(r: XdrReader): DirOpArgs {
  const dir = readFh(r);
  const name = readName(r);
  return { dir, name };
}

/** nfstime3 (2.5). */
export function readTime(r: XdrReader): NfsTime {
  const sec = r.u32();
  const nsec = r.u32();
  // a class, not a literal: a second >= 2^31 (after 2038) is not a Smi (NfsTimeRecord, src/core/attrs.ts)
  return new NfsTimeRecord(sec, nsec);
}

export function writeTime(w: XdrWriter, t: NfsTime): void {
  w.u32(t.sec);
  w.u32(t.nsec);
}

/** specdata3 (2.5). */
export function readSpecData(r: XdrReader): [number, number] {
  const major = r.u32();
  const minor = r.u32();
  return [major, minor];
}

/** fattr3 (2.6). */
/** Encoded fattr3, kept on the attribute object itself (a non-enumerable symbol property: invisible to JSON
 *  and to equality checks). Filesystems hand out the same object until the inode changes, so GETATTR and
 *  READDIRPLUS copy 84 bytes instead of encoding 21 fields; a property load is cheaper than the WeakMap
 *  lookup this replaced (about a tenth of a READDIRPLUS entry). */
const FATTR = Symbol('fattr3');
type WithFattr = Attrs & { [FATTR]?: Buffer };

/** The last fsid encoded, as two words: every attribute of one export has the same fsid, a bigint, whose
 *  conversion (BigInt.asUintN, writeBigUInt64BE) cost more than the other 20 fields together. */
let lastFsid: bigint | null = null;
let fsidHi = 0;
let fsidLo = 0;

const TWO32 = 0x100000000;

/** fattr3 into a new FATTR3_SIZE-byte buffer: fixed offsets, no writer object (a reply of a change encodes
 *  fresh attributes each time: nothing cached to copy). */
function encodeFattr(a: Attrs): Buffer {
  if (a.fsid !== lastFsid) {
    const f = BigInt.asUintN(64, a.fsid);
    fsidHi = Number(f >> 32n);
    fsidLo = Number(f & 0xffffffffn);
    lastFsid = a.fsid;
  }
  const b = Buffer.allocUnsafe(FATTR3_SIZE);
  b.writeUInt32BE(a.type >>> 0, 0);
  b.writeUInt32BE((a.mode & 0o7777) >>> 0, 4);
  b.writeUInt32BE(a.nlink >>> 0, 8);
  b.writeUInt32BE(a.uid >>> 0, 12);
  b.writeUInt32BE(a.gid >>> 0, 16);
  b.writeUInt32BE(Math.floor(a.size / TWO32) >>> 0, 20);
  b.writeUInt32BE(a.size >>> 0, 24);
  b.writeUInt32BE(Math.floor(a.used / TWO32) >>> 0, 28);
  b.writeUInt32BE(a.used >>> 0, 32);
  b.writeUInt32BE(a.rdev[0] >>> 0, 36);
  b.writeUInt32BE(a.rdev[1] >>> 0, 40);
  b.writeUInt32BE(fsidHi, 44);
  b.writeUInt32BE(fsidLo, 48);
  b.writeUInt32BE(Math.floor(a.fileid / TWO32) >>> 0, 52);
  b.writeUInt32BE(a.fileid >>> 0, 56);
  b.writeUInt32BE(a.atime.sec >>> 0, 60);
  b.writeUInt32BE(a.atime.nsec >>> 0, 64);
  b.writeUInt32BE(a.mtime.sec >>> 0, 68);
  b.writeUInt32BE(a.mtime.nsec >>> 0, 72);
  b.writeUInt32BE(a.ctime.sec >>> 0, 76);
  b.writeUInt32BE(a.ctime.nsec >>> 0, 80);
  return b;
}

/** The fattr3 encoding of a (FATTR3_SIZE bytes; kept on the object). */
export function fattrBytes(a: Attrs): Buffer {
  let enc = (a as WithFattr)[FATTR];
  if (enc === undefined) {
    enc = encodeFattr(a);
    if (Object.isExtensible(a)) Object.defineProperty(a, FATTR, { value: enc });
  }
  return enc;
}

export function writeFattr(w: XdrWriter, a: Attrs): void {
  w.fixed(fattrBytes(a));
}

/** post_op_attr (2.6). */
export function writePostOpAttr(w: XdrWriter, a: Attrs | null | undefined): void {
  if (a) {
    w.u32(1);
    writeFattr(w, a);
  } else {
    w.u32(0);
  }
}

/** wcc_attr (2.6). */
export function writeWccAttr(w: XdrWriter, a: WccAttr): void {
  w.u64(a.size);
  writeTime(w, a.mtime);
  writeTime(w, a.ctime);
}

/** pre_op_attr (2.6). */
export function writePreOpAttr(w: XdrWriter, a: WccAttr | null | undefined): void {
  if (a) {
    w.u32(1);
    writeWccAttr(w, a);
  } else {
    w.u32(0);
  }
}

/** wcc_data (2.6). */
export function writeWcc(w: XdrWriter, wcc: Wcc): void {
  writePreOpAttr(w, wcc.before);
  writePostOpAttr(w, wcc.after);
}

/** wcc_data with no pre-op attributes, for failure replies. */
export function writeWccAfter(w: XdrWriter, after: Attrs | null): void {
  w.u32(0);
  writePostOpAttr(w, after);
}

/** post_op_fh3 (2.6). */
export function writePostOpFh(w: XdrWriter, fh: Buffer | null | undefined): void {
  if (fh) {
    w.u32(1);
    w.opaque(fh);
  } else {
    w.u32(0);
  }
}

// time_how (2.6)
const DONT_CHANGE = 0;
const SET_TO_SERVER_TIME = 1;
const SET_TO_CLIENT_TIME = 2;

function readSetTime(r: XdrReader): NfsTime | 'server' | undefined {
  const how = r.u32();
  switch (how) {
    case DONT_CHANGE:
      return undefined;
    case SET_TO_SERVER_TIME:
      return 'server';
    case SET_TO_CLIENT_TIME:
      return readTime(r);
    default:
      throw new XdrError(`bad time_how ${how}`);
  }
}

/** sattr3 (2.6): set_mode3, set_uid3, set_gid3, set_size3, set_atime, set_mtime. */
export function readSattr(r: XdrReader): SetAttrs {
  const s: SetAttrs = {};
  if (r.bool()) s.mode = r.u32() & 0o7777;
  if (r.bool()) s.uid = r.u32();
  if (r.bool()) s.gid = r.u32();
  if (r.bool()) s.size = r.u64n();
  const atime = readSetTime(r);
  if (atime !== undefined) s.atime = atime;
  const mtime = readSetTime(r);
  if (mtime !== undefined) s.mtime = mtime;
  return s;
}

// createmode3 (3.3.8)
const UNCHECKED = 0;
const GUARDED = 1;
const EXCLUSIVE = 2;
export const CREATEVERFSIZE = 8;

/** createhow3 (3.3.8). */
export function readCreateHow(r: XdrReader): CreateHow {
  const mode = r.u32();
  switch (mode) {
    case UNCHECKED:
      return { kind: 'unchecked', attrs: readSattr(r) };
    case GUARDED:
      return { kind: 'guarded', attrs: readSattr(r) };
    case EXCLUSIVE:
      return { kind: 'exclusive', verf: Buffer.from(r.fixed(CREATEVERFSIZE)) };
    default:
      throw new XdrError(`bad createmode3 ${mode}`);
  }
}

/** CREATE3resok / MKDIR3resok / SYMLINK3resok / MKNOD3resok (3.3.8-3.3.11). */
export function writeCreateOk(w: XdrWriter, res: CreateResult): void {
  writePostOpFh(w, res.fh);
  writePostOpAttr(w, res.attrs);
  writeWcc(w, res.dir);
}
