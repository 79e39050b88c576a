// The disk cache's file work as the S3 fetch worker does it (s3-fetch-worker.ts), off the thread that answers
// NFS calls: the copy of a fetched object appended to the worker's own pack (cache-pack.ts; one positional
// write on the thread pool, the worker's thread goes on receiving other bodies), a cached copy read back from
// its pack and checked against its hash (synchronous: a page-cache copy, through a few packs kept open).
// The cache's bookkeeping (which keys it holds where, eviction) stays with DiskCache on the main thread.
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { isCode } from '../../util/errno.js';
import { PackAppender, type PackLocation } from './cache-pack.js';
import { checkContentAddressed } from './disk-cache.js';

/** Where a cache's copies go: its pack directory and the size its packs are started anew at. */
export interface CachePlace {
  packDir: string;
  packBytes: number;
}

const appenders = new Map<string, PackAppender>();

/** Appends data as key's copy to this thread's pack in place.packDir; its location, or null if it could not
 *  be written (the read itself goes on without the copy). */
export async function appendCached(place: CachePlace, key: string, data: Uint8Array): Promise<PackLocation | null> {
  let a = appenders.get(place.packDir);
  if (!a || a.packBytes !== place.packBytes) {
    a?.close();
    a = new PackAppender(place.packDir, place.packBytes);
    appenders.set(place.packDir, a);
  }
  return a.append(key, data);
}

/** Packs kept open for reads (a pack deleted meanwhile still reads as it was: its copies are checked). */
const OPEN_MAX = 16;
const fds = new Map<string, number>();

function fdOf(file: string): number {
  const fd = fds.get(file);
  if (fd !== undefined) {
    fds.delete(file);
    fds.set(file, fd); // most recently used
    return fd;
  }
  const opened = openSync(file, 'r');
  fds.set(file, opened);
  for (const [f, old] of fds) {
    if (fds.size <= OPEN_MAX) break;
    fds.delete(f);
    closeSync(old);
  }
  return opened;
}

/** A cached copy (size bytes at offset of a pack file), whether it matches the hash its key names, and its
 *  content if the check decompressed it (checkContentAddressed); null when the pack or the bytes are not there. */
export function readCachedAt(
  key: string,
  file: string,
  offset: number,
  size: number,
): { data: Buffer; checked: boolean; content?: Buffer } | null {
  const data = Buffer.allocUnsafeSlow(size); // its own memory: transferable to the main thread
  try {
    const fd = fdOf(file);
    for (let got = 0; got < size;) {
      const n = readSync(fd, data, got, size - got, offset + got);
      if (n === 0) return null; // shorter than the index says: not there
      got += n;
    }
  } catch (e) {
    if (isCode(e, 'ENOENT', 'ENOTDIR', 'EISDIR')) return null;
    throw e;
  }
  const { ok, content } = checkContentAddressed(key, data);
  return { data, checked: ok, content };
}

/** Closes this thread's packs: the ones it appends to (the next append starts a new pack) and the ones
 *  kept open for reads. Called when the S3 fetches close, so that no descriptor outlives them (a FileHandle
 *  left to the garbage collector makes Node warn, DEP0137; a raw one would stay open, pinning evicted packs). */
export function closeCachedFiles(): void {
  for (const a of appenders.values()) a.close();
  appenders.clear();
  for (const fd of fds.values()) {
    try {
      closeSync(fd);
    } catch {
      /* closed already */
    }
  }
  fds.clear();
}

/** The pack file of a location in place (for the readers). */
export function packFile(packDir: string, loc: Pick<PackLocation, 'pack'>): string {
  return join(packDir, loc.pack);
}
