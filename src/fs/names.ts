import { FsError, NfsStatus } from './file-system.js';

/** A name that creates or removes an entry (RFC 1813 3.3.8 ff.): no '/', NUL, '.' or '..'. */
export function checkName(name: string, dotStatus: NfsStatus = NfsStatus.EXIST): void {
  if (name.length === 0) throw new FsError(NfsStatus.NOENT, 'empty name');
  if (Buffer.byteLength(name) > 255) throw new FsError(NfsStatus.NAMETOOLONG);
  if (name.includes('/') || name.includes('\0')) throw new FsError(NfsStatus.INVAL, 'name contains / or NUL');
  if (name === '.' || name === '..') throw new FsError(dotStatus, `name ${name} not allowed here`);
}

/** A name that is looked up: '.' and '..' are allowed. */
export function checkLookupName(name: string): void {
  if (name === '.' || name === '..') return;
  checkName(name);
}
