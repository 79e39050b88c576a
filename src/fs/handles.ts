// File handles (RFC 1813 2.3.3: opaque, at most 64 bytes). Layout, 33 bytes:
//   [0] version | [1..8] export fsid | [9..16] fileid | [17..32] HMAC-SHA256 truncated
// The MAC is keyed with a secret from the data directory, so handles survive restarts
// and cannot be forged for another export.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { FsError, NfsStatus, type FileHandle, type Ino } from './file-system.js';

export type { FileHandle, Ino };

export const HANDLE_VERSION = 1;
export const HANDLE_SIZE = 33;
const MAC_SIZE = 16;
const CACHE_MAX = 200_000;
/** handles remembered by identity: enough for a call's two (RENAME, LINK) while other calls interleave */
const RECENT = 4;

export interface HandleInfo {
  fsid: bigint;
  ino: Ino;
}

export class HandleCodec {
  private verified = new Map<string, HandleInfo>();
  /**
   * The last few Buffer objects decoded, for the same object decoded again in one call (resolve, then the
   * filesystem): no string key, no MAC. A small ring compared by identity, not a WeakMap: every call's handle
   * is a fresh subarray, and a WeakMap entry per call made decode 4x its cost before (docs/perf-notes.md).
   */
  private readonly recentFh: (Buffer | undefined)[] = new Array<Buffer | undefined>(RECENT).fill(undefined);
  private readonly recentInfo: (HandleInfo | undefined)[] = new Array<HandleInfo | undefined>(RECENT).fill(undefined);
  private recentNext = 0;

  constructor(private readonly secret: Buffer) {
    if (secret.length < 32) throw new Error(`handle secret of ${secret.length} bytes: at least 32 are needed`);
  }

  encode(fsid: bigint, ino: number): Buffer {
    const fh = Buffer.allocUnsafe(HANDLE_SIZE);
    fh[0] = HANDLE_VERSION;
    fh.writeBigUInt64BE(fsid, 1);
    fh.writeBigUInt64BE(BigInt(ino), 9);
    this.mac(fh).copy(fh, 17, 0, MAC_SIZE);
    // minted here, so known good: its first use (the GETATTR after a CREATE) needs no second MAC
    this.remember(fh.toString('latin1'), { fsid, ino: ino as Ino });
    return fh;
  }

  private remember(key: string, info: HandleInfo): void {
    if (this.verified.size >= CACHE_MAX) this.verified.clear();
    this.verified.set(key, info);
  }

  /** Verified contents of a handle; BADHANDLE when it is malformed or forged. */
  decode(fh: Buffer): HandleInfo {
    for (let i = 0; i < RECENT; i++) if (this.recentFh[i] === fh) return this.recentInfo[i]!;
    const key = fh.toString('latin1');
    let info = this.verified.get(key);
    if (!info) {
      if (fh.length !== HANDLE_SIZE || fh[0] !== HANDLE_VERSION) throw new FsError(NfsStatus.BADHANDLE);
      const mac = this.mac(fh);
      if (!timingSafeEqual(mac.subarray(0, MAC_SIZE), fh.subarray(17))) throw new FsError(NfsStatus.BADHANDLE);
      info = { fsid: fh.readBigUInt64BE(1), ino: Number(fh.readBigUInt64BE(9)) as Ino };
      this.remember(key, info);
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

  private mac(fh: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(fh.subarray(0, 17)).digest();
  }
}
