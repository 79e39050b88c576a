// File handles (RFC 1813 2.3.3: opaque, at most 64 bytes). Two layouts:
//   v1, 33 bytes: [0] 1 | [1..8] export fsid | [9..16] fileid | [17..32] HMAC-SHA256 truncated
//   v2, 37 bytes: [0] 2 | [1..8] export fsid | [9..16] fileid | [17..20] epoch | [21..36] HMAC-SHA256 truncated
// The MAC is keyed with a secret from the data directory, so handles survive restarts
// and cannot be forged for another export. v2 carries the session's rebase epoch an object was made in
// (0: an object of the base, the same in every later epoch): a rebase keeps the export's fsid, and the
// session's filesystem (session-fs.ts) answers STALE for a handle of an object an older epoch made, whose
// number the rebuilt state may have given to another file (docs/architecture.md, "Handles across a rebase").
import { timingSafeEqual } from 'node:crypto';
import { HmacSha256 } from './hmac.js';
import { FsError, NfsStatus, type FileHandle, type Ino } from './file-system.js';

export type { FileHandle, Ino };

export const HANDLE_VERSION = 1;
export const HANDLE_SIZE = 33;
export const HANDLE_V2 = 2;
export const HANDLE_V2_SIZE = 37;
const MAC_SIZE = 16;
const CACHE_MAX = 200_000;
/** handles remembered by identity: enough for a call's two (RENAME, LINK) while other calls interleave */
const RECENT = 4;

export interface HandleInfo {
  fsid: bigint;
  ino: Ino;
  /** v2 handles: the epoch the object was made in, 0 for an object of the base; absent: a v1 handle */
  epoch?: number;
}

/** A handle known good: its fsid's high word and its MAC, by fsid low word and inode number (see decode). */
interface Known {
  fsHi: number;
  /** the inode number's words (the key, a double, loses precision above 2^53) */
  i0: number;
  i1: number;
  m0: number;
  m1: number;
  m2: number;
  m3: number;
  /** v2: the epoch word; v1: -1 */
  ep: number;
  info: HandleInfo;
}

export class HandleCodec {
  /**
   * Handles verified (or minted) before, by the fsid's low 32 bits and the inode number, each with the rest of
   * its bytes: a handle whose 33 bytes all equal a known one's is that handle, so its MAC need not be computed
   * again. Numbers read from the buffer, no string made of each handle (as the cache keyed by the handle's
   * bytes as a latin1 string did: an allocation and a string hash per call).
   */
  private verified = new Map<number, Map<number, Known>>();
  private known = 0;
  /**
   * The last few Buffer objects decoded, for the same object decoded again in one call (resolve, then the
   * filesystem): no lookup at all. A small ring compared by identity, not a WeakMap: every call's handle
   * is a fresh subarray, and a WeakMap entry per call made decode 4x its cost before (docs/perf-notes.md).
   */
  private readonly recentFh: (Buffer | undefined)[] = new Array<Buffer | undefined>(RECENT).fill(undefined);
  private readonly recentInfo: (HandleInfo | undefined)[] = new Array<HandleInfo | undefined>(RECENT).fill(undefined);
  private recentNext = 0;

  private readonly hmac: HmacSha256;

  constructor(secret: Buffer) {
    if (secret.length < 32) throw new Error(`handle secret of ${secret.length} bytes: at least 32 are needed`);
    this.hmac = new HmacSha256(secret);
  }

  /** A v1 handle, or with `epoch` a v2 one (0: an object of the base). */
  encode(fsid: bigint, ino: number, epoch?: number): Buffer {
    const v2 = epoch !== undefined;
    const fh = Buffer.allocUnsafe(v2 ? HANDLE_V2_SIZE : HANDLE_SIZE);
    fh[0] = v2 ? HANDLE_V2 : HANDLE_VERSION;
    fh.writeBigUInt64BE(fsid, 1);
    fh.writeBigUInt64BE(BigInt(ino), 9);
    if (v2) fh.writeUInt32BE(epoch, 17);
    const body = v2 ? 21 : 17;
    this.mac(fh, body).copy(fh, body, 0, MAC_SIZE);
    // minted here, so known good: its first use (the GETATTR after a CREATE) needs no second MAC
    this.remember(fh, v2 ? { fsid, ino: ino as Ino, epoch } : { fsid, ino: ino as Ino });
    return fh;
  }

  /** Remembers a handle of the right size and version whose MAC is good. */
  private remember(fh: Buffer, info: HandleInfo): void {
    if (this.known >= CACHE_MAX) {
      this.verified.clear();
      this.known = 0;
    }
    const lo = fh.readUInt32BE(5);
    let byIno = this.verified.get(lo);
    if (byIno === undefined) this.verified.set(lo, (byIno = new Map()));
    const ino = fh.readUInt32BE(9) * 0x100000000 + fh.readUInt32BE(13);
    if (!byIno.has(ino)) this.known++;
    const m = fh.length - MAC_SIZE;
    byIno.set(ino, {
      fsHi: fh.readUInt32BE(1),
      i0: fh.readUInt32BE(9),
      i1: fh.readUInt32BE(13),
      m0: fh.readUInt32BE(m),
      m1: fh.readUInt32BE(m + 4),
      m2: fh.readUInt32BE(m + 8),
      m3: fh.readUInt32BE(m + 12),
      ep: fh[0] === HANDLE_V2 ? fh.readUInt32BE(17) : -1,
      info,
    });
  }

  /** The info of a handle equal, byte for byte, to one remembered; undefined when there is none. */
  private recall(fh: Buffer): HandleInfo | undefined {
    if (!wellFormed(fh)) return undefined;
    const i0 = fh.readUInt32BE(9);
    const i1 = fh.readUInt32BE(13);
    const k = this.verified.get(fh.readUInt32BE(5))?.get(i0 * 0x100000000 + i1);
    const m = fh.length - MAC_SIZE;
    if (
      k === undefined ||
      k.fsHi !== fh.readUInt32BE(1) ||
      k.i0 !== i0 ||
      k.i1 !== i1 ||
      k.ep !== (fh[0] === HANDLE_V2 ? fh.readUInt32BE(17) : -1) ||
      k.m0 !== fh.readUInt32BE(m) ||
      k.m1 !== fh.readUInt32BE(m + 4) ||
      k.m2 !== fh.readUInt32BE(m + 8) ||
      k.m3 !== fh.readUInt32BE(m + 12)
    )
      return undefined;
    return k.info;
  }

  /** Verified contents of a handle; BADHANDLE when it is malformed or forged. */
  decode(fh: Buffer): HandleInfo {
    for (let i = 0; i < RECENT; i++) if (this.recentFh[i] === fh) return this.recentInfo[i]!;
    let info = this.recall(fh);
    if (!info) {
      if (!wellFormed(fh)) throw new FsError(NfsStatus.BADHANDLE);
      const body = fh.length - MAC_SIZE;
      const mac = this.mac(fh, body);
      if (!timingSafeEqual(mac.subarray(0, MAC_SIZE), fh.subarray(body))) throw new FsError(NfsStatus.BADHANDLE);
      info = { fsid: fh.readBigUInt64BE(1), ino: Number(fh.readBigUInt64BE(9)) as Ino };
      if (fh[0] === HANDLE_V2) info.epoch = fh.readUInt32BE(17);
      this.remember(fh, info);
    }
    const at = this.recentNext;
    this.recentFh[at] = fh;
    this.recentInfo[at] = info;
    this.recentNext = (at + 1) % RECENT;
    return info;
  }

  /** Decodes a handle once for the whole call: the FileHandle is the same Buffer, now known to be good. */
  verify(fh: Buffer): { fh: FileHandle; info: HandleInfo } {
    return { fh: fh as FileHandle, info: this.decode(fh) };
  }

  private mac(fh: Buffer, body: number): Buffer {
    return this.hmac.mac(fh, body);
  }
}

const wellFormed = (fh: Buffer): boolean =>
  (fh.length === HANDLE_SIZE && fh[0] === HANDLE_VERSION) || (fh.length === HANDLE_V2_SIZE && fh[0] === HANDLE_V2);
