// The filesystem interface the NFS and MOUNT procedures call. Storage-agnostic.
// Status numbers and types follow RFC 1813 section 2.6 (nfsstat3, ftype3).

export {
  NfsStatus, FileType, StableHow, FsError,
  type NfsTime, type Attrs, type WccAttr, type Wcc, type SetAttrs,
} from '../core/types.js';
import type { Attrs, NfsTime, SetAttrs, Wcc, FileType, StableHow } from '../core/types.js';

/** Caller identity from AUTH_SYS (AUTH_NONE maps to nobody). */
export interface Cred { uid: number; gid: number; gids: number[] }

export interface NodeResult { fh: Buffer; attrs: Attrs }
export interface CreateResult extends NodeResult { dir: Wcc }

export type CreateHow =
  | { kind: 'unchecked' | 'guarded'; attrs: SetAttrs }
  | { kind: 'exclusive'; verf: Buffer };

export interface DirEntry {
  name: string;
  fileid: number;
  cookie: bigint;
  /** Attributes and handle are computed only when READDIRPLUS asks for them. */
  attrs(): Attrs;
  fh(): Buffer;
}

export interface DirListing {
  dir: Attrs;
  verf: Buffer;                 // cookieverf3, 8 bytes
  entries: Iterator<DirEntry>;  // lazy, starting after `cookie`
}

export interface FsStat {
  attrs: Attrs;
  tbytes: number; fbytes: number; abytes: number;
  tfiles: number; ffiles: number; afiles: number;
  invarsec: number;
}

/** ACCESS3 bits (RFC 1813 3.3.4). */
export const ACCESS = { READ: 1, LOOKUP: 2, MODIFY: 4, EXTEND: 8, DELETE: 16, EXECUTE: 32 } as const;

/** One export: the copy-on-write view of one session. Every handle argument is
 *  verified by the implementation (BADHANDLE for garbage, STALE for removed objects). */
export interface FileSystem {
  readonly fsid: bigint;
  readonly maxFileSize: number;
  /** 8-byte write verifier (RFC 1813 3.3.7); changes when uncommitted data may be lost. */
  readonly writeVerifier: Buffer;
  rootHandle(): Buffer;
  getattr(fh: Buffer): Promise<Attrs>;
  setattr(fh: Buffer, set: SetAttrs, guard: NfsTime | null, cred: Cred): Promise<Wcc>;
  lookup(dir: Buffer, name: string, cred: Cred): Promise<{ node: NodeResult; dir: Attrs }>;
  access(fh: Buffer, mask: number, cred: Cred): Promise<{ access: number; attrs: Attrs }>;
  readlink(fh: Buffer, cred: Cred): Promise<{ target: string; attrs: Attrs }>;
  /** `release`, when present, must be called once the data has been sent (pooled buffer). */
  read(fh: Buffer, offset: number, count: number, cred: Cred): Promise<{ data: Buffer; eof: boolean; attrs: Attrs; release?: () => void }>;
  write(fh: Buffer, offset: number, data: Buffer, stable: StableHow, cred: Cred): Promise<{ count: number; committed: StableHow; wcc: Wcc }>;
  create(dir: Buffer, name: string, how: CreateHow, cred: Cred): Promise<CreateResult>;
  mkdir(dir: Buffer, name: string, attrs: SetAttrs, cred: Cred): Promise<CreateResult>;
  symlink(dir: Buffer, name: string, target: string, attrs: SetAttrs, cred: Cred): Promise<CreateResult>;
  mknod(dir: Buffer, name: string, type: FileType, attrs: SetAttrs, rdev: [number, number], cred: Cred): Promise<CreateResult>;
  remove(dir: Buffer, name: string, cred: Cred): Promise<Wcc>;
  rmdir(dir: Buffer, name: string, cred: Cred): Promise<Wcc>;
  rename(fromDir: Buffer, fromName: string, toDir: Buffer, toName: string, cred: Cred): Promise<{ from: Wcc; to: Wcc }>;
  link(fh: Buffer, dir: Buffer, name: string, cred: Cred): Promise<{ attrs: Attrs; dir: Wcc }>;
  /** cookie 0 starts at the beginning; a cookie from an older listing stays valid. */
  readdir(dir: Buffer, cookie: bigint, verf: Buffer, cred: Cred): Promise<DirListing>;
  fsstat(fh: Buffer): Promise<FsStat>;
  commit(fh: Buffer, offset: number, count: number): Promise<Wcc>;
  /** Post-op attributes for error replies; null when the handle is no good. */
  tryGetattr(fh: Buffer): Promise<Attrs | null>;
}

export class MountError extends Error {
  // mountstat3 (RFC 1813 5.1.2)
  static readonly NOENT = 2;
  static readonly ACCES = 13;
  static readonly NOTDIR = 20;
  static readonly INVAL = 22;
  static readonly NAMETOOLONG = 63;
  static readonly SERVERFAULT = 10006;
  constructor(readonly status: number, message?: string) { super(message ?? `mountstat ${status}`); }
}

/** What the daemon serves: the session exports. */
export interface ExportTable {
  /** MNT: the root handle of an export; MountError for unknown paths or refused clients. */
  mount(path: string, clientAddress: string): Promise<Buffer>;
  unmount(path: string, clientAddress: string): void;
  unmountAll(clientAddress: string): void;
  mounts(): { host: string; path: string }[];
  exports(): Promise<{ path: string; groups: string[] }[]>;
  /** The filesystem a handle belongs to: FsError BADHANDLE (garbage) or STALE (ended session). */
  resolve(fh: Buffer): FileSystem;
}
