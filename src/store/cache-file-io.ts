// The disk cache's file work as the S3 fetch worker does it (s3-fetch-worker.ts), off the thread that answers
// NFS calls: the copy of a fetched object written to its cache file, a cached copy read back and checked
// against its hash. The write runs on the thread pool (a file's creation costs more than its bytes, and the
// worker's own thread must go on receiving other bodies); the read is synchronous (a page-cache copy).
// The cache's bookkeeping (which keys it holds, eviction) stays with DiskCache on the main thread.
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { threadId } from 'node:worker_threads';
import { isCode } from '../../util/errno.js';
import { checkContentAddressed } from './disk-cache.js';

const madeDirs = new Set<string>();
let seq = 0;

/**
 * Writes data to `file` (temp file + rename, as DiskCache.put: a name with "~" is an interrupted write that
 * the cache's scan removes). Returns false if it could not (the read itself goes on without the copy).
 */
export async function writeCacheFile(file: string, data: Uint8Array): Promise<boolean> {
  const dir = dirname(file);
  const tmp = `${file}~w${threadId}.${(seq++).toString(36)}`;
  try {
    if (!madeDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      madeDirs.add(dir);
    }
    try {
      await writeFile(tmp, data);
    } catch (e) {
      if (!isCode(e, 'ENOENT')) throw e;
      await mkdir(dir, { recursive: true }); // removed behind our back
      await writeFile(tmp, data);
    }
    await rename(tmp, file);
    return true;
  } catch {
    await rm(tmp, { force: true });
    return false;
  }
}

/** A cached copy, whether it matches the hash its key names, and its content if the check decompressed it
 *  (checkContentAddressed); null when the file is not there. */
export function readCacheFile(key: string, file: string): { data: Buffer; checked: boolean; content?: Buffer } | null {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    if (isCode(e, 'ENOENT', 'ENOTDIR', 'EISDIR')) return null;
    throw e;
  }
  const { ok, content } = checkContentAddressed(key, data);
  return { data, checked: ok, content };
}
