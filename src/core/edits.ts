// The changes a session's state supports, on inodes: no permissions, no handles (the NFS adapter and
// path-edits.ts check those first). Each one journals what it did and returns once that is durable;
// each returns the "before" attributes of what it changed, taken at the moment of the change, for wcc.
// Callers run them inside SessionState.mutate().
import { FileType, FsError, NfsStatus, StableHow, type NfsTime, type SetAttrs, type WccAttr } from './attrs.js';
import { Directory } from './directory.js';
import type { Inode } from './inode.js';
import { MAX_FILE_SIZE, ROOT_INO, type NewAttrs, type SessionState } from './session-state.js';
import { now } from './time.js';

async function created(s: SessionState, d: Inode, n: Inode): Promise<void> {
  s.logInode(n);
  s.touch(d);
  await s.durable();
}

/** A new object and its directory's attributes before it was made (wcc). */
export interface Made {
  n: Inode;
  before: WccAttr;
}

function mustBeNew(dir: Directory, name: string): void {
  if (dir.get(name)) throw new FsError(NfsStatus.EXIST);
}

/**
 * A new empty regular file, made and journaled at once: durable once s.durable() resolves (the caller waits for
 * it: SessionState.changeNow). CREATE without a size, every file of an untar.
 */
export function createFileNow(s: SessionState, d: Inode, dir: Directory, name: string, a: NewAttrs & { verf?: string }): Made {
  mustBeNew(dir, name);
  const before = d.wcc();
  const n = s.newInode(FileType.REG, a);
  if (a.verf !== undefined) n.verf = a.verf;
  s.addEntry(dir, d, name, n);
  s.logInode(n);
  s.touch(d);
  return { n, before };
}

/** A new regular file (of `size` zero bytes when given). */
export async function createFile(
  s: SessionState,
  d: Inode,
  dir: Directory,
  name: string,
  a: NewAttrs & { size?: number; verf?: string },
): Promise<Made> {
  if (!a.size) {
    const made = createFileNow(s, d, dir, name, a);
    await s.durable();
    return made;
  }
  mustBeNew(dir, name);
  if (a.size !== undefined && a.size > MAX_FILE_SIZE) throw new FsError(NfsStatus.FBIG);
  const before = d.wcc();
  const n = s.newInode(FileType.REG, a);
  if (a.verf !== undefined) n.verf = a.verf;
  if (a.size) {
    s.data.create(n.ino);
    s.data.truncate(n.ino, a.size);
    await s.syncData(n.ino); // recovery takes a local file's size from its data file
    n.local = true;
    n.size = a.size;
  }
  s.addEntry(dir, d, name, n);
  await created(s, d, n);
  return { n, before };
}

/** A new directory, made and journaled at once: durable once s.durable() resolves (SessionState.changeNow). */
export function makeDirNow(s: SessionState, d: Inode, dir: Directory, name: string, a: NewAttrs): Made {
  mustBeNew(dir, name);
  const before = d.wcc();
  const n = s.newInode(FileType.DIR, a);
  n.nlink = 2;
  n.size = 4096;
  n.parent = d.ino;
  n.dir = new Directory();
  s.addEntry(dir, d, name, n);
  d.nlink++;
  s.logInode(n);
  s.touch(d);
  return { n, before };
}

export async function makeDir(s: SessionState, d: Inode, dir: Directory, name: string, a: NewAttrs): Promise<Made> {
  const made = makeDirNow(s, d, dir, name, a);
  await s.durable();
  return made;
}

export async function makeSymlink(
  s: SessionState,
  d: Inode,
  dir: Directory,
  name: string,
  target: string,
  a: NewAttrs,
): Promise<{ n: Inode; before: WccAttr }> {
  if (target.length === 0) throw new FsError(NfsStatus.INVAL);
  mustBeNew(dir, name);
  const before = d.wcc();
  const n = s.newInode(FileType.LNK, a);
  n.target = target;
  n.size = Buffer.byteLength(target);
  s.addEntry(dir, d, name, n);
  await created(s, d, n);
  return { n, before };
}

/** A FIFO, socket or device node (rdev: [major, minor] of a CHR or BLK; stored in the tree like any entry). */
export async function makeNode(
  s: SessionState,
  d: Inode,
  dir: Directory,
  name: string,
  type: FileType,
  a: NewAttrs,
  rdev: [number, number] = [0, 0],
): Promise<{ n: Inode; before: WccAttr }> {
  const device = type === FileType.CHR || type === FileType.BLK;
  if (!device && type !== FileType.FIFO && type !== FileType.SOCK) throw new FsError(NfsStatus.BADTYPE);
  mustBeNew(dir, name);
  const before = d.wcc();
  const n = s.newInode(type, a);
  if (device) n.rdev = [rdev[0] >>> 0, rdev[1] >>> 0];
  s.addEntry(dir, d, name, n);
  await created(s, d, n);
  return { n, before };
}

/**
 * Remove a name that is not a directory, made and journaled at once: durable once s.durable() resolves (the
 * caller waits for it: SessionState.changeNow), which also removes the data file of an inode freed by it.
 * Returns the directory's before attributes for wcc.
 */
export function unlinkNow(s: SessionState, d: Inode, dir: Directory, name: string): WccAttr {
  const slot = dir.get(name);
  if (!slot) throw new FsError(NfsStatus.NOENT);
  const n = s.child(slot);
  if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
  const before = d.wcc();
  s.removeEntry(dir, d, name);
  s.dropLink(n);
  s.touch(d);
  return before;
}

/** Remove a name that is not a directory. */
export async function unlink(s: SessionState, d: Inode, dir: Directory, name: string): Promise<WccAttr> {
  const before = unlinkNow(s, d, dir, name);
  await s.durable();
  return before;
}

/** Remove an empty directory. */
export async function removeDir(s: SessionState, d: Inode, dir: Directory, name: string): Promise<WccAttr> {
  const slot = dir.get(name);
  if (!slot) throw new FsError(NfsStatus.NOENT);
  const n = s.child(slot);
  if (n.type !== FileType.DIR) throw new FsError(NfsStatus.NOTDIR);
  const sub = await s.listing(n);
  if (dir.get(name) !== slot) throw new FsError(NfsStatus.NOENT); // changed while loading
  if (sub.size > 0) throw new FsError(NfsStatus.NOTEMPTY);
  const before = d.wcc();
  s.removeEntry(dir, d, name);
  s.dropLink(n);
  d.nlink--;
  s.touch(d);
  await s.durable();
  return before;
}

/** Load what rename needs before it changes anything (the listing of a directory it replaces). */
export async function prepareRename(s: SessionState, tdir: Directory, toName: string): Promise<void> {
  const target = tdir.get(toName);
  if (!target) return;
  const t = s.child(target);
  if (t.type === FileType.DIR) await s.listing(t);
}

/** Rename (RFC 1813 3.3.14 semantics); prepareRename first. */
export async function rename(
  s: SessionState,
  fd: Inode,
  fdir: Directory,
  fromName: string,
  td: Inode,
  tdir: Directory,
  toName: string,
): Promise<{ from: WccAttr; to: WccAttr }> {
  const slot = fdir.get(fromName);
  if (!slot) throw new FsError(NfsStatus.NOENT);
  const n = s.child(slot);
  const out = { from: fd.wcc(), to: td.wcc() };
  if (fd === td && fromName === toName) return out;
  if (n.type === FileType.DIR) {
    // a directory cannot move into its own subtree
    for (let p = td; ; p = s.parentOf(p)) {
      if (p === n) throw new FsError(NfsStatus.INVAL);
      if (p.ino === ROOT_INO) break;
    }
  }
  const ts = tdir.get(toName);
  if (ts) {
    const t = s.child(ts);
    if (t === n) return out; // two links to one file: nothing to do (POSIX)
    if (n.type === FileType.DIR && t.type !== FileType.DIR) throw new FsError(NfsStatus.NOTDIR);
    if (n.type !== FileType.DIR && t.type === FileType.DIR) throw new FsError(NfsStatus.EXIST);
    if (t.type === FileType.DIR) {
      if (!t.dir) throw new FsError(NfsStatus.JUKEBOX); // listing changed under us; the client retries
      if (t.dir.size > 0) throw new FsError(NfsStatus.NOTEMPTY);
      td.nlink--;
    }
    s.removeEntry(tdir, td, toName);
    s.dropLink(t);
  }
  s.removeEntry(fdir, fd, fromName);
  s.addEntry(tdir, td, toName, n);
  if (n.type === FileType.DIR && fd !== td) {
    n.parent = td.ino;
    fd.nlink--;
    td.nlink++;
  }
  n.ctime = now();
  s.logInode(n);
  s.touch(fd);
  if (td !== fd) s.touch(td);
  await s.durable();
  return out;
}

/** A new name for a file. */
export async function link(s: SessionState, n: Inode, d: Inode, dir: Directory, name: string): Promise<WccAttr> {
  if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
  mustBeNew(dir, name);
  if (!s.inodes.has(n.ino)) throw new FsError(NfsStatus.STALE);
  const before = d.wcc();
  s.addEntry(dir, d, name, n);
  n.nlink++;
  n.ctime = now();
  s.logInode(n);
  s.touch(d);
  await s.durable();
  return before;
}

/** Change attributes; a size change copies a base file up first (except a truncate to zero). */
/** Whether a sattr3 sets nothing: then it changes nothing, not even ctime (knfsd's nfsd_setattr returns at once):
 *  no journal record, no sync. Setting a value to what it already is still changes ctime (POSIX chmod, chown,
 *  utimensat), so that is a change like any other. */
function setsNothing(set: SetAttrs): boolean {
  return set.size === undefined && set.mode === undefined && set.uid === undefined && set.gid === undefined && !set.atime && !set.mtime;
}

/** The attributes other than the size, set at time t (the inode's ctime too) and journaled. */
function applyRest(s: SessionState, n: Inode, set: SetAttrs, t: NfsTime): void {
  if (set.mode !== undefined) n.mode = set.mode & 0o7777;
  if (set.uid !== undefined) n.uid = set.uid;
  if (set.gid !== undefined) n.gid = set.gid;
  if (set.atime) n.atime = set.atime === 'server' ? t : set.atime;
  if (set.mtime) n.mtime = set.mtime === 'server' ? t : set.mtime;
  n.ctime = t;
  s.logInode(n);
}

/**
 * setAttributes() of a sattr3 without a size (chmod, chown, utimes), made and journaled at once, without waiting:
 * the caller waits for s.durable() (SessionState.changeNow). Returns the before attributes for wcc.
 */
export function setAttributesNow(s: SessionState, n: Inode, set: SetAttrs): WccAttr {
  if (set.size !== undefined) throw new Error('setAttributesNow: a size is set (setAttributes)');
  const before = n.wcc();
  if (!setsNothing(set)) applyRest(s, n, set, now());
  return before;
}

export async function setAttributes(s: SessionState, n: Inode, set: SetAttrs): Promise<WccAttr> {
  if (setsNothing(set)) return n.wcc();
  if (set.size !== undefined) {
    if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
    if (n.type !== FileType.REG) throw new FsError(NfsStatus.INVAL);
    if (set.size > MAX_FILE_SIZE) throw new FsError(NfsStatus.FBIG);
  }
  if (set.size !== undefined && set.size !== n.size && !(!n.local && set.size === 0)) await s.copyUp.makeLocal(n);
  // an earlier cut of the file still shrinking it on the thread pool (DataFiles.shrink): this one after it
  for (let p = s.data.settled(n.ino); set.size !== undefined && p !== undefined; p = s.data.settled(n.ino)) await p;
  const before = n.wcc();
  const t = now();
  if (set.size !== undefined && set.size !== n.size) {
    if (!n.local) {
      s.data.create(n.ino);
      n.local = true;
      n.blob = null;
    }
    s.data.truncate(n.ino, set.size);
    // the inode's size with its data file's, before the await: a READ run meanwhile (the sync may go to the thread
    // pool) would otherwise see the new bytes with the old size (data short of it, eof false)
    n.size = set.size;
    n.mtime = t;
    n.changed(); // and a GETATTR meanwhile the new size, not the attributes cached before the cut
    await s.syncData(n.ino); // recovery takes a local file's size from its data file
    await s.data.freed(n.ino); // a large cut's pages, freed on the thread pool: answered once they are
  } else if (set.size !== undefined) {
    n.mtime = t; // a truncate to the same size still counts as a change (POSIX)
  }
  applyRest(s, n, set, t);
  await s.durable();
  return before;
}

function mustBeWritable(n: Inode, offset: number, length: number): void {
  if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
  if (n.type !== FileType.REG) throw new FsError(NfsStatus.INVAL);
  if (offset + length > MAX_FILE_SIZE) throw new FsError(NfsStatus.FBIG);
}

/** The bytes into the local data file, and the inode's size and times (not journaled: the caller does that, or
 *  remembers the file as unstable). */
function writeLocal(s: SessionState, n: Inode, offset: number, buf: Buffer): void {
  s.data.write(n.ino, offset, buf);
  if (offset + buf.length > n.size) n.size = offset + buf.length;
  n.mtime = n.ctime = now();
  s.countChange();
  n.dirty = true;
  n.changed();
}

/**
 * An UNSTABLE write to a file whose content is local already (no copy-up), made at once: nothing to wait for,
 * since UNSTABLE data is made durable by COMMIT (RFC 1813 3.3.7), which the file is remembered for. Returns the
 * before attributes for wcc. The caller checks `n.local` and runs it in SessionState.changeSync.
 */
export function writeUnstableNow(s: SessionState, n: Inode, offset: number, buf: Buffer): WccAttr {
  mustBeWritable(n, offset, buf.length);
  if (!n.local) throw new Error('writeUnstableNow: the file is not local (writeData copies it up)');
  const before = n.wcc();
  writeLocal(s, n, offset, buf);
  n.unstable = true;
  s.unstable.add(n);
  return before;
}

/** Write data; UNSTABLE data is made durable by commitData (RFC 1813 3.3.7). */
export async function writeData(
  s: SessionState,
  n: Inode,
  offset: number,
  buf: Buffer,
  stable: StableHow,
): Promise<{ before: WccAttr; committed: StableHow }> {
  mustBeWritable(n, offset, buf.length);
  const before = n.wcc();
  if (!n.local) {
    const copying = s.copyUp.makeLocal(n);
    if (copying) await copying;
  }
  // a cut shrinking the data file on the thread pool (DataFiles.shrink): written after it, or the cut could take it
  for (let p = s.data.settled(n.ino); p !== undefined; p = s.data.settled(n.ino)) await p;
  writeLocal(s, n, offset, buf);
  if (stable === StableHow.UNSTABLE) {
    n.unstable = true;
    s.unstable.add(n);
    return { before, committed: StableHow.UNSTABLE };
  }
  // data and metadata on stable storage before replying
  await s.syncData(n.ino);
  s.logInode(n);
  await s.durable();
  return { before, committed: StableHow.FILE_SYNC };
}

/** Make a file's UNSTABLE writes durable (RFC 1813 3.3.21). */
export async function commitData(s: SessionState, n: Inode): Promise<WccAttr> {
  const before = n.wcc();
  // after a failed fsync nothing unsynced can be promised (durable.ts)
  if (s.failed) throw new FsError(NfsStatus.IO, 'an earlier fsync failed');
  if (n.unstable) {
    if (n.local) await s.syncData(n.ino);
    n.unstable = false;
    s.unstable.delete(n);
    s.logInode(n);
  }
  await s.durable();
  return before;
}
