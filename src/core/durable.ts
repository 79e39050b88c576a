// Durability helpers. fdatasync runs inline or on the thread pool: on tmpfs/ramfs it has nothing to do and
// costs ~2 us inline against ~100 us through the pool, so it runs inline there; on a disk it goes to the
// pool so the event loop keeps serving other calls meanwhile.
//
// A failed fsync is not retried: after one, the kernel may already have dropped the dirty pages, so a later
// fsync can succeed without the data being on disk. It is raised as SyncError, which the session state
// treats as fatal (read-only, new write verifier). Other I/O errors become filesystem statuses (fsErrorOf).
import fs from 'node:fs';
import path from 'node:path';
import { FsError, NfsStatus } from './attrs.js';

const MEMORY_FS = new Set([0x01021994 /* tmpfs */, 0x858458f6 /* ramfs */]);

export function isMemoryFs(dir: string): boolean {
  try {
    return MEMORY_FS.has(fs.statfsSync(dir).type);
  } catch {
    return false;
  }
}

/** An fsync or fdatasync failed: what was written since the last good one may be lost. */
export class SyncError extends Error {
  constructor(override readonly cause: Error) {
    super(`fsync failed: ${cause.message}`);
  }
}

export function fdatasync(fd: number, inline: boolean): Promise<void> {
  if (inline) {
    try {
      fs.fdatasyncSync(fd);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(new SyncError(e as Error));
    }
  }
  return new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(new SyncError(e)) : resolve())));
}

/** fsync a directory, so that names created or removed in it survive a crash. */
export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    throw new SyncError(e as Error);
  } finally {
    fs.closeSync(fd);
  }
}

/** mkdir -p, with each new directory's parent fsynced. */
export function mkdirDurable(dir: string): void {
  const first = fs.mkdirSync(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; ; d = path.dirname(d)) {
    syncDir(path.dirname(d));
    if (d === first || path.dirname(d) === d) break;
  }
}

/** Write a small file that is created once (flag 'wx'), its content and its name durable. */
export function writeFileDurable(file: string, data: string | Buffer, mode = 0o600): void {
  const fd = fs.openSync(file, 'wx', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  syncDir(path.dirname(file));
}

const ERRNO_STATUS: Record<string, NfsStatus> = {
  ENOSPC: NfsStatus.NOSPC,
  EDQUOT: NfsStatus.DQUOT,
  EFBIG: NfsStatus.FBIG,
  EIO: NfsStatus.IO,
  EROFS: NfsStatus.ROFS,
  ENAMETOOLONG: NfsStatus.NAMETOOLONG,
};

/** The filesystem error for an I/O error (RFC 1813 2.6: NFS3ERR_NOSPC, _DQUOT, _FBIG, _IO); null if it is none. */
export function fsErrorOf(e: unknown): FsError | null {
  if (e instanceof FsError) return e;
  if (e instanceof SyncError) return new FsError(NfsStatus.IO, e.message);
  const code = (e as NodeJS.ErrnoException)?.code;
  const status = code ? ERRNO_STATUS[code] : undefined;
  return status === undefined ? null : new FsError(status, (e as Error).message);
}

/** True for errors that mean "no room": the disk or the quota is full. */
export function isNoSpace(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
