// ACCESS3 computed from mode bits and AUTH_SYS identity (RFC 1813 3.3.4).
import { ACCESS, FileType, type Cred } from './types.js';

export interface Owner { uid: number; gid: number; mode: number; type: FileType }

/** rwx bits (4/2/1) that apply to `cred` for an object. */
export function permBits(o: Owner, cred: Cred): number {
  if (cred.uid === 0) return 7;
  if (cred.uid === o.uid) return (o.mode >> 6) & 7;
  if (cred.gid === o.gid || cred.gids.includes(o.gid)) return (o.mode >> 3) & 7;
  return o.mode & 7;
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
