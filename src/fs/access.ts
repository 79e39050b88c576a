// Permission rules: ACCESS3 from mode bits and AUTH_SYS identity (RFC 1813 3.3.4), and the Linux rules a
// local filesystem applies that NFSv3 leaves to the server: owners of new objects, the sticky bit,
// setuid/setgid clearing (killpriv). AUTH_NONE callers arrive as nobody (nfs/common.ts).
import { ACCESS, FileType, FsError, NfsStatus, type Cred, type NfsTime, type SetAttrs } from './file-system.js';
import { sameTime } from '../core/time.js';

export interface Owner {
  uid: number;
  gid: number;
  mode: number;
  type: FileType;
}

export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
const S_IXGRP = 0o010;

/** rwx bits (4/2/1) that apply to `cred` for an object. */
export function permBits(o: Owner, cred: Cred): number {
  if (cred.uid === 0) return 7;
  if (cred.uid === o.uid) return (o.mode >> 6) & 7;
  if (inGroup(cred, o.gid)) return (o.mode >> 3) & 7;
  return o.mode & 7;
}

export function inGroup(cred: Cred, gid: number): boolean {
  return cred.gid === gid || cred.gids.includes(gid);
}

export function accessMask(o: Owner, cred: Cred, asked: number): number {
  let bits = permBits(o, cred);
  // root may execute only when some execute bit is set, as on a local filesystem
  if (cred.uid === 0 && o.type !== FileType.DIR && (o.mode & 0o111) === 0) bits &= 6;
  let ok = 0;
  if (bits & 4) ok |= ACCESS.READ;
  if (bits & 2) ok |= ACCESS.MODIFY | ACCESS.EXTEND | (o.type === FileType.DIR ? ACCESS.DELETE : 0);
  if (bits & 1) ok |= o.type === FileType.DIR ? ACCESS.LOOKUP : ACCESS.EXECUTE;
  return ok & asked;
}

/**
 * Owner and mode of an object CREATE, MKDIR, SYMLINK or MKNOD makes in `dir` (RFC 1813 3.3.8-3.3.11).
 * The caller's sattr3 uid and gid follow SETATTR's rules: only root may give the object another owner
 * or a group the caller is not in (NFS3ERR_PERM). Otherwise it belongs to the caller; in a setgid
 * directory it takes the directory's group, and a new directory inherits the setgid bit (as Linux's
 * inode_init_owner). A setgid bit for a group the caller is not in is dropped (Linux's mode_strip_sgid).
 */
export function newOwner(
  dir: Owner,
  type: FileType,
  set: SetAttrs,
  defaultMode: number,
  cred: Cred,
): { uid: number; gid: number; mode: number } {
  const root = cred.uid === 0;
  const sgidDir = (dir.mode & S_ISGID) !== 0;
  const gid0 = sgidDir ? dir.gid : cred.gid;
  if (!root && set.uid !== undefined && set.uid !== cred.uid)
    throw new FsError(NfsStatus.PERM, 'only root may create an object for another owner');
  if (!root && set.gid !== undefined && set.gid !== gid0 && !inGroup(cred, set.gid))
    throw new FsError(NfsStatus.PERM, 'the caller is not in that group');
  const uid = set.uid ?? cred.uid;
  const gid = set.gid ?? gid0;
  let mode = (set.mode ?? defaultMode) & 0o7777;
  if (type === FileType.DIR && sgidDir) mode |= S_ISGID;
  else if (mode & S_ISGID && !root && !inGroup(cred, gid)) mode &= ~S_ISGID;
  return { uid, gid, mode };
}

/**
 * Removing or replacing the name of `victim` in `dir`: write and search permission on the directory, and
 * in a sticky directory (01777, as /tmp) only the owner of the directory or of the victim, or root, may
 * do it (Linux's check_sticky answers EPERM, so NFS3ERR_PERM as knfsd).
 */
export function checkDelete(dir: Owner, victim: Owner, cred: Cred): void {
  if ((permBits(dir, cred) & 3) !== 3) throw new FsError(NfsStatus.ACCES);
  if (dir.mode & S_ISVTX && cred.uid !== 0 && cred.uid !== dir.uid && cred.uid !== victim.uid) {
    throw new FsError(NfsStatus.PERM, 'sticky directory');
  }
}

/**
 * The mode after a write or truncate by `cred` (Linux's file_remove_privs / should_remove_suid): a caller
 * other than root clears setuid, and setgid when group execute is on (without it, setgid means mandatory
 * locking and stays). Returns the mode unchanged when nothing is to be cleared.
 */
export function killPriv(mode: number, type: FileType, cred: Cred): number {
  if (cred.uid === 0 || type !== FileType.REG) return mode;
  let m = mode & ~S_ISUID;
  if (m & S_IXGRP) m &= ~S_ISGID;
  return m;
}

/**
 * The mode after a chown of a non-directory (Linux's chown_common: ATTR_KILL_SUID | ATTR_KILL_SGID, for
 * root too): setuid goes, and setgid when group execute is on.
 */
export function chownKillPriv(mode: number, type: FileType): number {
  if (type === FileType.DIR) return mode;
  let m = mode & ~S_ISUID;
  if (m & S_IXGRP) m &= ~S_ISGID;
  return m;
}

/**
 * The mode SETATTR stores for a chmod by `cred` of an object with group `gid` (Linux's setattr_prepare):
 * a setgid bit for a group the caller is not in is dropped silently, unless the caller is root.
 */
export function chmodMode(mode: number, gid: number, cred: Cred): number {
  const m = mode & 0o7777;
  if (m & S_ISGID && cred.uid !== 0 && !inGroup(cred, gid)) return m & ~S_ISGID;
  return m;
}

/** The sattr3 a SETATTR by cred may make of n, the mode as Linux would set it; throws its refusal otherwise. */
export function setattrAllowed(n: Owner & { ctime: NfsTime }, set: SetAttrs, guard: NfsTime | null, cred: Cred): SetAttrs {
  // RFC 1813 3.3.2: the guard compares the object's ctime
  if (guard && !sameTime(guard, n.ctime)) throw new FsError(NfsStatus.NOT_SYNC);
  const owner = cred.uid === 0 || cred.uid === n.uid;
  if ((set.mode !== undefined || set.gid !== undefined) && !owner) throw new FsError(NfsStatus.PERM);
  if (set.uid !== undefined && set.uid !== n.uid && cred.uid !== 0) throw new FsError(NfsStatus.PERM);
  if (set.gid !== undefined && cred.uid !== 0 && set.gid !== cred.gid && !cred.gids.includes(set.gid)) throw new FsError(NfsStatus.PERM);
  const timesToClient = (set.atime && set.atime !== 'server') || (set.mtime && set.mtime !== 'server');
  if (timesToClient && !owner) throw new FsError(NfsStatus.PERM);
  if ((set.atime || set.mtime) && !owner && !(permBits(n, cred) & 2)) throw new FsError(NfsStatus.ACCES);
  if (set.size !== undefined) {
    if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
    if (n.type !== FileType.REG) throw new FsError(NfsStatus.INVAL);
    if (!owner && !(permBits(n, cred) & 2)) throw new FsError(NfsStatus.ACCES);
  }
  // Linux's rules for setuid/setgid: a chmod drops a setgid bit for a group the caller is not in; a
  // truncate by non-root and any chown of a non-directory clear them (knfsd's nfsd_sanitize_attrs)
  let mode = set.mode !== undefined ? chmodMode(set.mode, set.gid ?? n.gid, cred) : n.mode;
  if (set.size !== undefined) mode = killPriv(mode, n.type, cred);
  if (set.uid !== undefined || set.gid !== undefined) mode = chownKillPriv(mode, n.type);
  return set.mode !== undefined || mode !== n.mode ? { ...set, mode } : set;
}
