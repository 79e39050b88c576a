// The filesystem interface the NFS and MOUNT procedures call. Storage-agnostic.
// Status numbers and types follow RFC 1813 section 2.6 (nfsstat3, ftype3).

export {
  NfsStatus,
  FileType,
  StableHow,
  FsError,
  NfsTimeRecord,
  type NfsTime,
  type Attrs,
  type WccAttr,
  type Wcc,
  type SetAttrs,
} from '../core/attrs.js';
import type { Attrs, NfsTime, SetAttrs, Wcc, FileType, StableHow } from '../core/attrs.js';

declare const verifiedHandle: unique symbol;
declare const inodeNumber: unique symbol;

/**
 * An nfs_fh3 that ExportTable.resolve has verified (layout, MAC, a served export). FileSystem methods take
 * only these, so no procedure can hand a filesystem an unchecked handle. The bytes are those the client
 * sent; HandleCodec remembers what they decoded to for as long as the Buffer object lives.
 */
export type FileHandle = Buffer & { readonly [verifiedHandle]: true };

/** An inode number (fileid) decoded from a verified handle. */
export type Ino = number & { readonly [inodeNumber]: true };

/** Caller identity from AUTH_SYS (AUTH_NONE maps to nobody). */
export interface Cred {
  uid: number;
  gid: number;
  gids: number[];
}

/** The superuser: what the server itself acts as (sealing, API edits, mount-time lookups). */
export const ROOT_CRED: Cred = Object.freeze({ uid: 0, gid: 0, gids: Object.freeze([]) as unknown as number[] });

export interface NodeResult {
  fh: Buffer;
  attrs: Attrs;
}
export interface CreateResult extends NodeResult {
  dir: Wcc;
}

export type CreateHow = { kind: 'unchecked' | 'guarded'; attrs: SetAttrs } | { kind: 'exclusive'; verf: Buffer };

export interface DirEntry {
  name: string;
  fileid: number;
  cookie: bigint | number;
  /** Attributes and handle are computed only when READDIRPLUS asks for them. */
  attrs(): Attrs;
  fh(): Buffer;
}

export interface DirListing {
  dir: Attrs;
  verf: Buffer; // cookieverf3, 8 bytes
  entries: Iterator<DirEntry>; // lazy, starting after `cookie`
}

export interface FsStat {
  attrs: Attrs;
  tbytes: number;
  fbytes: number;
  abytes: number;
  tfiles: number;
  ffiles: number;
  afiles: number;
  invarsec: number;
}

/** ACCESS3 bits (RFC 1813 3.3.4). */
export const ACCESS = { READ: 1, LOOKUP: 2, MODIFY: 4, EXTEND: 8, DELETE: 16, EXECUTE: 32 } as const;

/** WRITE3resok's body (RFC 1813 3.3.7): bytes written, how stably, the file's wcc. */
export interface WriteResult {
  count: number;
  committed: StableHow;
  wcc: Wcc;
}

/** One export: the copy-on-write view of one session. Every handle argument is
 *  verified by the implementation (BADHANDLE for garbage, STALE for removed objects). */
export interface FileSystem {
  readonly fsid: bigint;
  readonly maxFileSize: number;
  /** the export never accepts changes (a snapshot): FSINFO says it cannot set times, FSSTAT has no free space */
  readonly readOnly?: boolean;
  /** 8-byte write verifier (RFC 1813 3.3.7); changes when uncommitted data may be lost. */
  readonly writeVerifier: Buffer;
  rootHandle(): Buffer;
  getattr(fh: FileHandle): Promise<Attrs>;
  setattr(fh: FileHandle, set: SetAttrs, guard: NfsTime | null, cred: Cred): Promise<Wcc>;
  lookup(dir: FileHandle, name: string, cred: Cred): Promise<{ node: NodeResult; dir: Attrs }>;
  access(fh: FileHandle, mask: number, cred: Cred): Promise<{ access: number; attrs: Attrs }>;
  readlink(fh: FileHandle, cred: Cred): Promise<{ target: string; attrs: Attrs }>;
  /**
   * `release`, when present, must be called once the data has been sent (pooled buffer). `into(len)`, when
   * given, offers a buffer of len bytes for the data (the reply's own bytes): an implementation may read into
   * it and then answers `inPlace` with `data` a view of its first bytes. `frame`, when present, is the pooled
   * buffer `data` is a view of: until `release` the caller may write the bytes before `data` (the reply's
   * headers) and up to 3 after it (XDR padding), and send the reply as one buffer. `byFile`: the caller can send
   * bytes straight from an open file; an implementation may then answer `file` (fd, offset, length, release)
   * instead of data. The result comes at once when no I/O needs waiting for (the call is answered in the same
   * turn), else as a promise; an error is always a rejected promise.
   */
  read(
    fh: FileHandle,
    offset: number,
    count: number,
    cred: Cred,
    into?: (len: number) => Buffer,
    byFile?: boolean,
  ): ReadResult | Promise<ReadResult>;
  /** The result at once when nothing needs waiting for (an UNSTABLE write to a file in memory), else a promise;
   *  an error is always a rejected promise. */
  write(fh: FileHandle, offset: number, data: Buffer, stable: StableHow, cred: Cred): WriteResult | Promise<WriteResult>;
  create(dir: FileHandle, name: string, how: CreateHow, cred: Cred): Promise<CreateResult>;
  mkdir(dir: FileHandle, name: string, attrs: SetAttrs, cred: Cred): Promise<CreateResult>;
  symlink(dir: FileHandle, name: string, target: string, attrs: SetAttrs, cred: Cred): Promise<CreateResult>;
  mknod(dir: FileHandle, name: string, type: FileType, attrs: SetAttrs, rdev: [number, number], cred: Cred): Promise<CreateResult>;
  remove(dir: FileHandle, name: string, cred: Cred): Promise<Wcc>;
  rmdir(dir: FileHandle, name: string, cred: Cred): Promise<Wcc>;
  rename(fromDir: FileHandle, fromName: string, toDir: FileHandle, toName: string, cred: Cred): Promise<{ from: Wcc; to: Wcc }>;
  link(fh: FileHandle, dir: FileHandle, name: string, cred: Cred): Promise<{ attrs: Attrs; dir: Wcc }>;
  /** cookie 0 starts at the beginning; a cookie from an older listing stays valid. */
  readdir(dir: FileHandle, cookie: bigint, verf: Buffer, cred: Cred): Promise<DirListing>;
  fsstat(fh: FileHandle): Promise<FsStat>;
  commit(fh: FileHandle, offset: number, count: number): Promise<Wcc>;
  /** Post-op attributes for error replies; null when the handle is no good. */
  tryGetattr(fh: FileHandle): Promise<Attrs | null>;
}

/** mountstat3 (RFC 1813 5.1.2). */
export const MountStat = {
  OK: 0,
  PERM: 1,
  NOENT: 2,
  IO: 5,
  ACCES: 13,
  NOTDIR: 20,
  INVAL: 22,
  NAMETOOLONG: 63,
  NOTSUPP: 10004,
  SERVERFAULT: 10006,
} as const;

/** A MNT that fails with a mountstat3 (MountStat). */
export class MountError extends Error {
  constructor(
    readonly status: number,
    message?: string,
  ) {
    super(message ?? `mountstat ${status}`);
  }
}

/** A handle resolved to its export (ExportTable.resolve). */
export interface Resolved {
  fs: FileSystem;
  fh: FileHandle;
  /** the export serves only this AUTH_SYS uid (and root): a session bound to its user */
  uid?: number;
}

/** What the daemon serves: the session exports. */
export interface ExportTable {
  /** MNT: the root handle of an export; MountError for unknown paths or refused clients. */
  mount(path: string, clientAddress: string): Promise<Buffer>;
  unmount(path: string, clientAddress: string): void;
  unmountAll(clientAddress: string): void;
  mounts(): { host: string; path: string }[];
  exports(): Promise<{ path: string; groups: string[] }[]>;
  /**
   * The export a handle belongs to, and the handle verified (decoded once here): FsError BADHANDLE
   * (garbage, forged) or STALE (ended session).
   */
  resolve(fh: Buffer): Resolved;
}

export interface ReadResult {
  data: Buffer;
  eof: boolean;
  attrs: Attrs;
  /** gives a pooled buffer back: call once the data has been sent */
  release?: () => void;
  /** the data was read into the caller's `into` buffer */
  inPlace?: boolean;
  /**
   * The pooled buffer `data` is a view of, when it has room in front of the data: until `release`, the caller may
   * write the bytes before the data (a reply's headers) and the padding after it, and send it as one buffer.
   */
  frame?: Buffer;
  /**
   * Asked for with `byFile`: the data is `length` bytes of the open file `fd` from `offset` (`data` is empty), for
   * the caller to send straight from the file (sendfile); `release` (once) when they are sent or dropped.
   */
  file?: FileBytes;
  /**
   * The data as consecutive buffers, when it spans several (a landed blob's range over two chunks): the caller
   * may send them by reference, in order, instead of `data` (which joins them into one, a copy, when read).
   */
  parts?: readonly Buffer[];
}

/** Bytes of an open file, valid until `release`. */
export interface FileBytes {
  fd: number;
  offset: number;
  length: number;
  release: () => void;
}
