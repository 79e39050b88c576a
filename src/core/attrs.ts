// Types of the copy-on-write core that the NFS adapter shares: file types, times, attributes and the
// error statuses. The status numbers are those of RFC 1813 section 2.6 (nfsstat3: mostly errno values),
// so an error raised in the core reaches an NFS reply unchanged.

export enum NfsStatus {
  OK = 0,
  PERM = 1,
  NOENT = 2,
  IO = 5,
  NXIO = 6,
  ACCES = 13,
  EXIST = 17,
  XDEV = 18,
  NODEV = 19,
  NOTDIR = 20,
  ISDIR = 21,
  INVAL = 22,
  FBIG = 27,
  NOSPC = 28,
  ROFS = 30,
  MLINK = 31,
  NAMETOOLONG = 63,
  NOTEMPTY = 66,
  DQUOT = 69,
  STALE = 70,
  REMOTE = 71,
  BADHANDLE = 10001,
  NOT_SYNC = 10002,
  BAD_COOKIE = 10003,
  NOTSUPP = 10004,
  TOOSMALL = 10005,
  SERVERFAULT = 10006,
  BADTYPE = 10007,
  JUKEBOX = 10008,
}

export enum FileType {
  REG = 1,
  DIR = 2,
  BLK = 3,
  CHR = 4,
  LNK = 5,
  SOCK = 6,
  FIFO = 7,
}

export enum StableHow {
  UNSTABLE = 0,
  DATA_SYNC = 1,
  FILE_SYNC = 2,
}

/** A filesystem error; the NFS procedure layer encodes `status` in its reply. */
export class FsError extends Error {
  readonly status: NfsStatus;
  /** An expected outcome answered as a status (a LOOKUP of a missing name, a refused access), not a bug:
   *  made without a stack trace, whose capture cost more than the rest of such a call (clone and editor
   *  saves LOOKUP thousands of missing names). */
  constructor(status: NfsStatus, message?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message ?? NfsStatus[status]);
    Error.stackTraceLimit = limit;
    this.status = status;
  }
}

export interface NfsTime {
  sec: number;
  nsec: number;
}

/**
 * nfstime3 (RFC 1813 2.5) as a class: one hidden class whatever the seconds. `sec` is an unsigned 32-bit
 * number; a time after 2038-01-19 03:14:07 UTC (sec >= 2^31: `touch -d 2040`, an archive's odd mtime sent as
 * SET_TO_CLIENT_TIME) is not a Smi to V8, and as an object literal it replaced the hidden class of every
 * `{ sec, nsec }` the server had made (the clock's, the base tree's), as a size did for the records below. Every
 * time an inode holds is one of these (time.ts, Inode.fromState, the XDR and journal decoders).
 */
export class NfsTimeRecord implements NfsTime {
  sec: number;
  nsec: number;

  constructor(sec: number, nsec: number) {
    this.sec = sec;
    this.nsec = nsec;
  }
}

/** fattr3 (RFC 1813 2.6). */
export interface Attrs {
  type: FileType;
  mode: number; // permission bits only (0o7777)
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  used: number;
  rdev: [number, number];
  fsid: bigint;
  fileid: number;
  atime: NfsTime;
  mtime: NfsTime;
  ctime: NfsTime;
}

/** wcc_attr: the pre-operation subset (RFC 1813 2.6). */
export interface WccAttr {
  size: number;
  mtime: NfsTime;
  ctime: NfsTime;
}

/*
 * The attribute records made on every call (fattr3, wcc_attr) are instances of these classes, not object
 * literals, for V8's sake. An object literal's hidden class records how each field was first stored: a size
 * that was a small integer (a Smi) in the first objects is kept unboxed, and the first size that is not one
 * (a file of 2 GiB or more, or an offset computed as hi * 2^32 + lo: a HeapNumber) replaces the literal's hidden
 * class with a new one and deprecates the old. The code that had been compiled for the old class (the fattr3,
 * wcc and CREATE reply encoders, the journal's inode encoder, READDIRPLUS's entries) then kept meeting objects
 * of both, was thrown away and recompiled over and over: after one session wrote a 256 MiB file, a daemon's
 * CREATE took twice its CPU for the rest of its life (docs/perf-notes.md, branch create9). A class's fields
 * are defined (undefined) before the constructor stores a number in them, so they hold any value from the
 * start and one hidden class serves every size.
 */

/** fattr3 (RFC 1813 2.6) as a class: one hidden class whatever the numbers (above). */
export class AttrsRecord implements Attrs {
  type: FileType;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  used: number;
  rdev: [number, number];
  fsid: bigint;
  fileid: number;
  atime: NfsTime;
  mtime: NfsTime;
  ctime: NfsTime;

  constructor(
    type: FileType,
    mode: number,
    nlink: number,
    uid: number,
    gid: number,
    size: number,
    used: number,
    rdev: [number, number],
    fsid: bigint,
    fileid: number,
    atime: NfsTime,
    mtime: NfsTime,
    ctime: NfsTime,
  ) {
    this.type = type;
    this.mode = mode;
    this.nlink = nlink;
    this.uid = uid;
    this.gid = gid;
    this.size = size;
    this.used = used;
    this.rdev = rdev;
    this.fsid = fsid;
    this.fileid = fileid;
    this.atime = atime;
    this.mtime = mtime;
    this.ctime = ctime;
  }

  /** The same attributes under another fileid. */
  withFileid(fileid: number): AttrsRecord {
    return new AttrsRecord(
      this.type,
      this.mode,
      this.nlink,
      this.uid,
      this.gid,
      this.size,
      this.used,
      this.rdev,
      this.fsid,
      fileid,
      this.atime,
      this.mtime,
      this.ctime,
    );
  }
}

/** wcc_attr (RFC 1813 2.6) as a class: one hidden class whatever the size (above). */
export class WccAttrRecord implements WccAttr {
  size: number;
  mtime: NfsTime;
  ctime: NfsTime;

  constructor(size: number, mtime: NfsTime, ctime: NfsTime) {
    this.size = size;
    this.mtime = mtime;
    this.ctime = ctime;
  }
}

export interface Wcc {
  before: WccAttr | null;
  after: Attrs | null;
}

/** sattr3; 'server' means SET_TO_SERVER_TIME. */
export interface SetAttrs {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: NfsTime | 'server';
  mtime?: NfsTime | 'server';
}
