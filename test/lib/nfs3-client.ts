// A typed NFSv3 + MOUNT v3 client for protocol tests (RFC 1813), on top of RpcClient.
// Decoding is written independently of the server's encoders and insists that every reply
// is consumed exactly: a stray or missing word fails the call.
import { RpcClient, RpcError, type CallOptions, type RpcClientOptions } from '../../rpc/client.js';
import type { AuthSys } from '../../rpc/handler.js';
import { XdrReader, XdrWriter } from '../../rpc/xdr.js';
import {
  FileType,
  MountStat,
  NfsStatus,
  StableHow,
  type Attrs,
  type NfsTime,
  type SetAttrs,
  type WccAttr,
} from '../../src/fs/file-system.js';

export { FileType, MountStat, NfsStatus, StableHow };
export type { Attrs, NfsTime, SetAttrs, WccAttr };

export const NFS_PROG = 100003;
export const NFS_VERS = 3;
export const MOUNT_PROG = 100005;
export const MOUNT_VERS = 3;

export const Proc = {
  NULL: 0,
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  ACCESS: 4,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  MKNOD: 11,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  READDIRPLUS: 17,
  FSSTAT: 18,
  FSINFO: 19,
  PATHCONF: 20,
  COMMIT: 21,
} as const;

export const MountProc = { NULL: 0, MNT: 1, DUMP: 2, UMNT: 3, UMNTALL: 4, EXPORT: 5 } as const;

/** accept_stat values (RFC 5531) for RpcError.stat. */
export const AcceptStat = { SUCCESS: 0, PROG_UNAVAIL: 1, PROG_MISMATCH: 2, PROC_UNAVAIL: 3, GARBAGE_ARGS: 4, SYSTEM_ERR: 5 } as const;

export const ZERO_VERF: Buffer = Buffer.alloc(8);

export interface Wcc {
  before: WccAttr | null;
  after: Attrs | null;
}

export type CreateHowArg = { kind: 'unchecked' | 'guarded'; attrs?: SetAttrs } | { kind: 'exclusive'; verf: Buffer };

export interface Res {
  status: NfsStatus;
}
export interface GetattrRes extends Res {
  attrs?: Attrs;
}
export interface WccRes extends Res {
  wcc: Wcc;
}
export interface LookupRes extends Res {
  fh?: Buffer;
  attrs?: Attrs | null;
  dirAttrs: Attrs | null;
}
export interface AccessRes extends Res {
  attrs: Attrs | null;
  access?: number;
}
export interface ReadlinkRes extends Res {
  attrs: Attrs | null;
  target?: string;
}
export interface ReadRes extends Res {
  attrs: Attrs | null;
  count?: number;
  eof?: boolean;
  data?: Buffer;
}
export interface WriteRes extends Res {
  wcc: Wcc;
  count?: number;
  committed?: StableHow;
  verf?: Buffer;
}
export interface CreateRes extends Res {
  fh?: Buffer | null;
  attrs?: Attrs | null;
  dirWcc: Wcc;
}
export interface RemoveRes extends Res {
  dirWcc: Wcc;
}
export interface RenameRes extends Res {
  fromWcc: Wcc;
  toWcc: Wcc;
}
export interface LinkRes extends Res {
  attrs: Attrs | null;
  dirWcc: Wcc;
}
export interface DirEntry3 {
  fileid: number;
  name: string;
  cookie: bigint;
}
export interface DirEntryPlus3 extends DirEntry3 {
  attrs: Attrs | null;
  fh: Buffer | null;
}
export interface ReaddirRes extends Res {
  dirAttrs: Attrs | null;
  verf?: Buffer;
  entries?: DirEntry3[];
  eof?: boolean;
  /** bytes of the result after the RPC header: status + READDIR3resok */
  bytes: number;
}
export interface ReaddirplusRes extends Res {
  dirAttrs: Attrs | null;
  verf?: Buffer;
  entries?: DirEntryPlus3[];
  eof?: boolean;
  bytes: number;
}
export interface FsstatRes extends Res {
  attrs: Attrs | null;
  tbytes?: number;
  fbytes?: number;
  abytes?: number;
  tfiles?: number;
  ffiles?: number;
  afiles?: number;
  invarsec?: number;
}
export interface FsinfoRes extends Res {
  attrs: Attrs | null;
  rtmax?: number;
  rtpref?: number;
  rtmult?: number;
  wtmax?: number;
  wtpref?: number;
  wtmult?: number;
  dtpref?: number;
  maxfilesize?: number;
  timeDelta?: NfsTime;
  properties?: number;
}
export interface PathconfRes extends Res {
  attrs: Attrs | null;
  linkmax?: number;
  nameMax?: number;
  noTrunc?: boolean;
  chownRestricted?: boolean;
  caseInsensitive?: boolean;
  casePreserving?: boolean;
}
export interface CommitRes extends Res {
  wcc: Wcc;
  verf?: Buffer;
}
export interface MntRes {
  status: number;
  fh?: Buffer;
  flavors?: number[];
}

// ---- XDR pieces (RFC 1813 2.5, 2.6) ----

export function decodeTime(r: XdrReader): NfsTime {
  const sec = r.u32();
  return { sec, nsec: r.u32() };
}

export function decodeFattr(r: XdrReader): Attrs {
  const type = r.u32();
  const mode = r.u32();
  const nlink = r.u32();
  const uid = r.u32();
  const gid = r.u32();
  const size = r.u64n();
  const used = r.u64n();
  const rdev: [number, number] = [r.u32(), r.u32()];
  const fsid = r.u64();
  const fileid = r.u64n();
  const atime = decodeTime(r);
  const mtime = decodeTime(r);
  const ctime = decodeTime(r);
  if (type < FileType.REG || type > FileType.FIFO) throw new Error(`bad ftype3 ${type}`);
  return { type, mode, nlink, uid, gid, size, used, rdev, fsid, fileid, atime, mtime, ctime };
}

export function decodePostOpAttr(r: XdrReader): Attrs | null {
  return r.bool() ? decodeFattr(r) : null;
}

export function decodeWcc(r: XdrReader): Wcc {
  let before: WccAttr | null = null;
  if (r.bool()) {
    const size = r.u64n();
    const mtime = decodeTime(r);
    before = { size, mtime, ctime: decodeTime(r) };
  }
  return { before, after: decodePostOpAttr(r) };
}

export function decodePostOpFh(r: XdrReader): Buffer | null {
  return r.bool() ? Buffer.from(r.opaque(64)) : null;
}

export function encodeSattr(w: XdrWriter, s: SetAttrs = {}): XdrWriter {
  const opt32 = (v: number | undefined): void => {
    if (v === undefined) w.u32(0);
    else w.u32(1).u32(v);
  };
  opt32(s.mode);
  opt32(s.uid);
  opt32(s.gid);
  if (s.size === undefined) w.u32(0);
  else w.u32(1).u64(s.size);
  for (const t of [s.atime, s.mtime]) {
    if (t === undefined) w.u32(0);
    else if (t === 'server') w.u32(1);
    else w.u32(2).u32(t.sec).u32(t.nsec);
  }
  return w;
}

function nameBytes(name: string | Buffer): Buffer {
  return typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
}

function diropargs(w: XdrWriter, dir: Buffer, name: string | Buffer): XdrWriter {
  return w.opaque(dir).opaque(nameBytes(name));
}

function done<T>(r: XdrReader, v: T): T {
  if (r.remaining !== 0) throw new Error(`reply has ${r.remaining} unexpected trailing bytes`);
  return v;
}

/** The accept_stat of a call that was not accepted with SUCCESS, or SUCCESS. */
export async function acceptStat(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return AcceptStat.SUCCESS;
  } catch (e) {
    if (e instanceof RpcError && e.kind === 'accepted') return e.stat;
    throw e;
  }
}

export type Nfs3ClientOptions = RpcClientOptions;

export class Nfs3Client {
  private constructor(readonly rpc: RpcClient) {}

  static async connect(port: number, host = '127.0.0.1', opts: Nfs3ClientOptions = {}): Promise<Nfs3Client> {
    return new Nfs3Client(await RpcClient.connect(host, port, { timeoutMs: 10_000, ...opts }));
  }

  close(): Promise<void> {
    return this.rpc.close();
  }

  /** Raw NFS call: arguments as given, the reader at the results. */
  callNfs(proc: number, args: XdrWriter | Buffer = Buffer.alloc(0), opts?: CallOptions): Promise<XdrReader> {
    return this.rpc.call(NFS_PROG, NFS_VERS, proc, args, opts);
  }

  callMount(proc: number, args: XdrWriter | Buffer = Buffer.alloc(0), opts?: CallOptions): Promise<XdrReader> {
    return this.rpc.call(MOUNT_PROG, MOUNT_VERS, proc, args, opts);
  }

  // ---- MOUNT (RFC 1813 section 5) ----

  async mountNull(): Promise<void> {
    done(await this.callMount(MountProc.NULL), undefined);
  }

  async mnt(path: string | Buffer, opts?: CallOptions): Promise<MntRes> {
    const r = await this.callMount(MountProc.MNT, new XdrWriter().opaque(nameBytes(path)), opts);
    const status = r.u32();
    if (status !== MountStat.OK) return done(r, { status });
    const fh = Buffer.from(r.opaque(64));
    const n = r.u32();
    const flavors: number[] = [];
    for (let i = 0; i < n; i++) flavors.push(r.i32());
    return done(r, { status, fh, flavors });
  }

  async umnt(path: string): Promise<void> {
    done(await this.callMount(MountProc.UMNT, new XdrWriter().string(path)), undefined);
  }

  async umntall(): Promise<void> {
    done(await this.callMount(MountProc.UMNTALL), undefined);
  }

  async dump(): Promise<{ host: string; path: string }[]> {
    const r = await this.callMount(MountProc.DUMP);
    const list: { host: string; path: string }[] = [];
    while (r.bool()) {
      const host = r.string(255);
      list.push({ host, path: r.string(1024) });
    }
    return done(r, list);
  }

  async exports(): Promise<{ path: string; groups: string[] }[]> {
    const r = await this.callMount(MountProc.EXPORT);
    const list: { path: string; groups: string[] }[] = [];
    while (r.bool()) {
      const path = r.string(1024);
      const groups: string[] = [];
      while (r.bool()) groups.push(r.string(255));
      list.push({ path, groups });
    }
    return done(r, list);
  }

  // ---- NFS (RFC 1813 section 3) ----

  async null(): Promise<void> {
    done(await this.callNfs(Proc.NULL), undefined);
  }

  async getattr(fh: Buffer, opts?: CallOptions): Promise<GetattrRes> {
    const r = await this.callNfs(Proc.GETATTR, new XdrWriter().opaque(fh), opts);
    const status = r.u32();
    if (status !== NfsStatus.OK) return done(r, { status });
    return done(r, { status, attrs: decodeFattr(r) });
  }

  async setattr(fh: Buffer, set: SetAttrs, guard: NfsTime | null = null, opts?: CallOptions): Promise<WccRes> {
    const w = encodeSattr(new XdrWriter().opaque(fh), set);
    if (guard) w.u32(1).u32(guard.sec).u32(guard.nsec);
    else w.u32(0);
    const r = await this.callNfs(Proc.SETATTR, w, opts);
    const status = r.u32();
    return done(r, { status, wcc: decodeWcc(r) });
  }

  async lookup(dir: Buffer, name: string | Buffer, opts?: CallOptions): Promise<LookupRes> {
    const r = await this.callNfs(Proc.LOOKUP, diropargs(new XdrWriter(), dir, name), opts);
    const status = r.u32();
    if (status !== NfsStatus.OK) return done(r, { status, dirAttrs: decodePostOpAttr(r) });
    const fh = Buffer.from(r.opaque(64));
    const attrs = decodePostOpAttr(r);
    return done(r, { status, fh, attrs, dirAttrs: decodePostOpAttr(r) });
  }

  async access(fh: Buffer, mask: number, opts?: CallOptions): Promise<AccessRes> {
    const r = await this.callNfs(Proc.ACCESS, new XdrWriter().opaque(fh).u32(mask), opts);
    const status = r.u32();
    const attrs = decodePostOpAttr(r);
    if (status !== NfsStatus.OK) return done(r, { status, attrs });
    return done(r, { status, attrs, access: r.u32() });
  }

  async readlink(fh: Buffer, opts?: CallOptions): Promise<ReadlinkRes> {
    const r = await this.callNfs(Proc.READLINK, new XdrWriter().opaque(fh), opts);
    const status = r.u32();
    const attrs = decodePostOpAttr(r);
    if (status !== NfsStatus.OK) return done(r, { status, attrs });
    return done(r, { status, attrs, target: r.string(4096) });
  }

  async read(fh: Buffer, offset: number, count: number, opts?: CallOptions): Promise<ReadRes> {
    const r = await this.callNfs(Proc.READ, new XdrWriter().opaque(fh).u64(offset).u32(count), opts);
    const status = r.u32();
    const attrs = decodePostOpAttr(r);
    if (status !== NfsStatus.OK) return done(r, { status, attrs });
    const n = r.u32();
    const eof = r.bool();
    const data = Buffer.from(r.opaque());
    if (data.length !== n) throw new Error(`READ count ${n} but ${data.length} bytes of data`);
    return done(r, { status, attrs, count: n, eof, data });
  }

  async write(
    fh: Buffer,
    offset: number,
    data: Buffer,
    stable: StableHow = StableHow.FILE_SYNC,
    count = data.length,
    opts?: CallOptions,
  ): Promise<WriteRes> {
    const w = new XdrWriter(64 + data.length).opaque(fh).u64(offset).u32(count).u32(stable).opaque(data);
    const r = await this.callNfs(Proc.WRITE, w, opts);
    const status = r.u32();
    const wcc = decodeWcc(r);
    if (status !== NfsStatus.OK) return done(r, { status, wcc });
    const n = r.u32();
    const committed = r.u32() as StableHow;
    return done(r, { status, wcc, count: n, committed, verf: Buffer.from(r.fixed(8)) });
  }

  private decodeCreate(r: XdrReader): CreateRes {
    const status = r.u32();
    if (status !== NfsStatus.OK) return done(r, { status, dirWcc: decodeWcc(r) });
    const fh = decodePostOpFh(r);
    const attrs = decodePostOpAttr(r);
    return done(r, { status, fh, attrs, dirWcc: decodeWcc(r) });
  }

  async create(dir: Buffer, name: string | Buffer, how: CreateHowArg = { kind: 'unchecked' }, opts?: CallOptions): Promise<CreateRes> {
    const w = diropargs(new XdrWriter(), dir, name);
    if (how.kind === 'exclusive') w.u32(2).fixed(how.verf);
    else encodeSattr(w.u32(how.kind === 'unchecked' ? 0 : 1), how.attrs);
    return this.decodeCreate(await this.callNfs(Proc.CREATE, w, opts));
  }

  async mkdir(dir: Buffer, name: string | Buffer, attrs: SetAttrs = {}, opts?: CallOptions): Promise<CreateRes> {
    const w = encodeSattr(diropargs(new XdrWriter(), dir, name), attrs);
    return this.decodeCreate(await this.callNfs(Proc.MKDIR, w, opts));
  }

  async symlink(dir: Buffer, name: string | Buffer, target: string | Buffer, attrs: SetAttrs = {}, opts?: CallOptions): Promise<CreateRes> {
    const w = encodeSattr(diropargs(new XdrWriter(), dir, name), attrs).opaque(nameBytes(target));
    return this.decodeCreate(await this.callNfs(Proc.SYMLINK, w, opts));
  }

  async mknod(
    dir: Buffer,
    name: string | Buffer,
    type: FileType,
    attrs: SetAttrs = {},
    rdev: [number, number] = [0, 0],
    opts?: CallOptions,
  ): Promise<CreateRes> {
    const w = diropargs(new XdrWriter(), dir, name).u32(type);
    if (type === FileType.CHR || type === FileType.BLK) encodeSattr(w, attrs).u32(rdev[0]).u32(rdev[1]);
    else if (type === FileType.SOCK || type === FileType.FIFO) encodeSattr(w, attrs);
    return this.decodeCreate(await this.callNfs(Proc.MKNOD, w, opts));
  }

  async remove(dir: Buffer, name: string | Buffer, opts?: CallOptions): Promise<RemoveRes> {
    const r = await this.callNfs(Proc.REMOVE, diropargs(new XdrWriter(), dir, name), opts);
    const status = r.u32();
    return done(r, { status, dirWcc: decodeWcc(r) });
  }

  async rmdir(dir: Buffer, name: string | Buffer, opts?: CallOptions): Promise<RemoveRes> {
    const r = await this.callNfs(Proc.RMDIR, diropargs(new XdrWriter(), dir, name), opts);
    const status = r.u32();
    return done(r, { status, dirWcc: decodeWcc(r) });
  }

  async rename(fromDir: Buffer, fromName: string | Buffer, toDir: Buffer, toName: string | Buffer, opts?: CallOptions): Promise<RenameRes> {
    const w = diropargs(diropargs(new XdrWriter(), fromDir, fromName), toDir, toName);
    const r = await this.callNfs(Proc.RENAME, w, opts);
    const status = r.u32();
    const fromWcc = decodeWcc(r);
    return done(r, { status, fromWcc, toWcc: decodeWcc(r) });
  }

  async link(fh: Buffer, dir: Buffer, name: string | Buffer, opts?: CallOptions): Promise<LinkRes> {
    const r = await this.callNfs(Proc.LINK, diropargs(new XdrWriter().opaque(fh), dir, name), opts);
    const status = r.u32();
    const attrs = decodePostOpAttr(r);
    return done(r, { status, attrs, dirWcc: decodeWcc(r) });
  }

  async readdir(dir: Buffer, cookie = 0n, verf: Buffer = ZERO_VERF, count = 65536, opts?: CallOptions): Promise<ReaddirRes> {
    const r = await this.callNfs(Proc.READDIR, new XdrWriter().opaque(dir).u64(cookie).fixed(verf).u32(count), opts);
    const bytes = r.remaining;
    const status = r.u32();
    const dirAttrs = decodePostOpAttr(r);
    if (status !== NfsStatus.OK) return done(r, { status, dirAttrs, bytes });
    const v = Buffer.from(r.fixed(8));
    const entries: DirEntry3[] = [];
    while (r.bool()) {
      const fileid = r.u64n();
      const name = r.string(255);
      entries.push({ fileid, name, cookie: r.u64() });
    }
    return done(r, { status, dirAttrs, verf: v, entries, eof: r.bool(), bytes });
  }

  async readdirplus(
    dir: Buffer,
    cookie = 0n,
    verf: Buffer = ZERO_VERF,
    dircount = 8192,
    maxcount = 65536,
    opts?: CallOptions,
  ): Promise<ReaddirplusRes> {
    const w = new XdrWriter().opaque(dir).u64(cookie).fixed(verf).u32(dircount).u32(maxcount);
    const r = await this.callNfs(Proc.READDIRPLUS, w, opts);
    const bytes = r.remaining;
    const status = r.u32();
    const dirAttrs = decodePostOpAttr(r);
    if (status !== NfsStatus.OK) return done(r, { status, dirAttrs, bytes });
    const v = Buffer.from(r.fixed(8));
    const entries: DirEntryPlus3[] = [];
    while (r.bool()) {
      const fileid = r.u64n();
      const name = r.string(255);
      const c = r.u64();
      const attrs = decodePostOpAttr(r);
      entries.push({ fileid, name, cookie: c, attrs, fh: decodePostOpFh(r) });
    }
    return done(r, { status, dirAttrs, verf: v, entries, eof: r.bool(), bytes });
  }

  async fsstat(fh: Buffer, opts?: CallOptions): Promise<FsstatRes> {
    const r = await this.callNfs(Proc.FSSTAT, new XdrWriter().opaque(fh), opts);
    const status = r.u32();
    const attrs = decodePostOpAttr(r);
    if (status !== NfsStatus.OK) return done(r, { status, attrs });
    return done(r, {
      status,
      attrs,
      tbytes: r.u64n(),
      fbytes: r.u64n(),
      abytes: r.u64n(),
      tfiles: r.u64n(),
      ffiles: r.u64n(),
      afiles: r.u64n(),
      invarsec: r.u32(),
    });
  }

  async fsinfo(fh: Buffer, opts?: CallOptions): Promise<FsinfoRes> {
    const r = await this.callNfs(Proc.FSINFO, new XdrWriter().opaque(fh), opts);
    const status = r.u32();
    const attrs = decodePostOpAttr(r);
    if (status !== NfsStatus.OK) return done(r, { status, attrs });
    return done(r, {
      status,
      attrs,
      rtmax: r.u32(),
      rtpref: r.u32(),
      rtmult: r.u32(),
      wtmax: r.u32(),
      wtpref: r.u32(),
      wtmult: r.u32(),
      dtpref: r.u32(),
      maxfilesize: r.u64n(),
      timeDelta: decodeTime(r),
      properties: r.u32(),
    });
  }

  async pathconf(fh: Buffer, opts?: CallOptions): Promise<PathconfRes> {
    const r = await this.callNfs(Proc.PATHCONF, new XdrWriter().opaque(fh), opts);
    const status = r.u32();
    const attrs = decodePostOpAttr(r);
    if (status !== NfsStatus.OK) return done(r, { status, attrs });
    return done(r, {
      status,
      attrs,
      linkmax: r.u32(),
      nameMax: r.u32(),
      noTrunc: r.bool(),
      chownRestricted: r.bool(),
      caseInsensitive: r.bool(),
      casePreserving: r.bool(),
    });
  }

  async commit(fh: Buffer, offset = 0, count = 0, opts?: CallOptions): Promise<CommitRes> {
    const r = await this.callNfs(Proc.COMMIT, new XdrWriter().opaque(fh).u64(offset).u32(count), opts);
    const status = r.u32();
    const wcc = decodeWcc(r);
    if (status !== NfsStatus.OK) return done(r, { status, wcc });
    return done(r, { status, wcc, verf: Buffer.from(r.fixed(8)) });
  }

  // ---- conveniences for tests ----

  /** Mounts `path` and returns its root handle; throws unless MNT3_OK. */
  async mountRoot(path: string): Promise<Buffer> {
    const m = await this.mnt(path);
    if (m.status !== MountStat.OK || !m.fh) throw new Error(`MNT ${path} failed with mountstat ${m.status}`);
    return m.fh;
  }

  /** Every entry of a directory through READDIR pages of `count` bytes. */
  async readdirAll(dir: Buffer, count = 8192): Promise<DirEntry3[]> {
    const all: DirEntry3[] = [];
    let cookie = 0n;
    let verf = ZERO_VERF;
    for (;;) {
      const res = await this.readdir(dir, cookie, verf, count);
      if (res.status !== NfsStatus.OK) throw new Error(`READDIR failed with ${NfsStatus[res.status]}`);
      all.push(...res.entries!);
      if (res.eof) return all;
      if (res.entries!.length === 0) throw new Error('READDIR returned no entries without eof');
      cookie = res.entries![res.entries!.length - 1].cookie;
      verf = res.verf!;
    }
  }
}

/** AUTH_SYS credential for tests. */
export function authSys(uid: number, gid: number, gids: number[] = []): AuthSys {
  return { stamp: 0, machine: 'test', uid, gid, gids };
}
