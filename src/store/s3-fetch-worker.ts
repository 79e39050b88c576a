// The worker thread behind S3FetchPool: runs S3Fetcher's GETs off the main thread, so receiving and
// copying object bodies does not hold up NFS calls. It checks each content-addressed object against its
// hash, appends the disk cache's copy of a fetched object to a pack of its own, and reads cached copies back
// and checks them (cache-file-io.ts), so that the main thread neither hashes nor runs file calls per object.
// Bodies come back transferred, not copied.
import { writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { S3Fetcher, type S3Credentials, type S3FetchOptions } from './s3-fetch.js';
import { checkContentAddressed } from './disk-cache.js';
import { appendCached, closeCachedFiles, readCachedAt, type CachePlace } from './cache-file-io.js';
import type { PackLocation } from './cache-pack.js';

export type FetchRequest =
  /** a GET; cache: where to append the disk cache's copy once the object checked out, as cacheKey */
  | { id: number; op: 'get'; key: string; cred: S3Credentials; cache?: CachePlace; cacheKey?: string }
  /** a cached copy: size bytes at offset of a pack file (the object's key, for its hash) */
  | { id: number; op: 'read'; key: string; file: string; offset: number; size: number }
  /** the pool closes: the thread's cache packs are closed (answered with data null) */
  | { id: number; op: 'close' };
export type FetchReply =
  /** checked: the key names a content-addressed object and data matches its hash (checkContentAddressed);
   *  content: the decompressed content, when the check decompressed it; cached: where its copy was appended
   *  (in the request's cache) */
  | { id: number; data: Uint8Array | null; checked?: boolean; content?: Uint8Array; cached?: PackLocation | null }
  | { id: number; error: { message: string; name: string; code?: string; Code?: string; status?: number } };

/** Posts data (and content) to the main thread, moving their memory there when a view covers all of it
 *  (a small or pooled one is copied). */
function reply(port: NonNullable<typeof parentPort>, m: Extract<FetchReply, { data: unknown }>): void {
  const move: ArrayBuffer[] = [];
  for (const d of [m.data, m.content]) {
    if (d && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength) move.push(d.buffer as ArrayBuffer);
  }
  port.postMessage(m, move);
}

function errorReply(id: number, e: unknown): FetchReply {
  const x = e as { message?: string; name?: string; code?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return {
    id,
    error: {
      message: String(x?.message ?? e),
      name: x?.name ?? 'Error',
      code: x?.code,
      Code: x?.Code,
      status: x?.$metadata?.httpStatusCode,
    },
  };
}

const port = parentPort;
if (port) {
  // named (Linux), so that per-thread CPU figures (/proc/<pid>/task/*/stat, top -H) tell it from the thread pool
  try {
    writeFileSync('/proc/thread-self/comm', 'mic-s3-fetch');
  } catch {
    /* not Linux: the name is only for people */
  }
  let cred: S3Credentials | null = null;
  const fetcher = new S3Fetcher({ ...(workerData as Omit<S3FetchOptions, 'credentials'>), credentials: async () => cred! });
  port.on('message', (m: FetchRequest) => {
    if (m.op === 'close') {
      closeCachedFiles();
      port.postMessage({ id: m.id, data: null });
      return;
    }
    if (m.op === 'read') {
      try {
        const r = readCachedAt(m.key, m.file, m.offset, m.size);
        reply(port, { id: m.id, data: r?.data ?? null, checked: r?.checked, content: r?.content });
      } catch (e) {
        port.postMessage(errorReply(m.id, e));
      }
      return;
    }
    cred = m.cred;
    fetcher.get(m.key).then(
      async (data) => {
        // the hash of a content-addressed object is checked here, off the thread that answers NFS calls
        const { ok: checked, content } = data === null ? { ok: false } : checkContentAddressed(m.key, data);
        // only a copy that checked out is cached (before the transfer takes the bytes away from this thread)
        const cached = checked && m.cache !== undefined ? await appendCached(m.cache, m.cacheKey ?? m.key, data!) : null;
        reply(port, { id: m.id, data, checked, content, cached });
      },
      (e: unknown) => port.postMessage(errorReply(m.id, e)),
    );
  });
}
