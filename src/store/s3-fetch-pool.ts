// Runs S3Fetcher's GETs in a worker thread (s3-fetch-worker.ts) and hands the bodies back without a
// copy, so the main thread, which answers NFS calls, does not also parse and copy every object body. The
// worker also appends and reads the disk cache's copies of the objects it checks (cache-file-io.ts).
// Credentials are resolved here (the SDK's chain) and sent with each request. Run from the TypeScript
// sources (the unit tests), where no compiled worker exists, the same runs in this thread instead.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { S3FetchError, S3Fetcher, type S3FetchOptions } from './s3-fetch.js';
import type { FetchReply, FetchRequest } from './s3-fetch-worker.js';
import { markChecked } from './codec.js';
import { CONTENT_KEY } from './keys.js';
import { appendCached, closeCachedFiles, readCachedAt, type CachePlace } from './cache-file-io.js';
import type { PackLocation } from './cache-pack.js';
import { checkContentAddressed } from './disk-cache.js';

/** An object's bytes (null: none); whether they matched the hash the key names, and where the disk cache's
 *  copy was appended (getCaching; null: it was not). */
export interface Fetched {
  data: Buffer | null;
  checked: boolean;
  cached: PackLocation | null;
}

interface Pending {
  key: string;
  resolve: (f: Fetched) => void;
  reject: (e: Error) => void;
}

function workerScript(): URL | null {
  const url = new URL('./s3-fetch-worker.js', import.meta.url);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : null;
}

function toError(e: Extract<FetchReply, { error: unknown }>['error']): Error {
  if (e.Code) return new S3FetchError(e.Code, e.status ?? 0, e.message);
  return Object.assign(new Error(e.message), { name: e.name, code: e.code });
}

export class S3FetchPool {
  private readonly script = workerScript();
  private readonly local: S3Fetcher | null;
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly o: S3FetchOptions) {
    this.local = this.script ? null : new S3Fetcher(o);
    if (this.script) this.ensure(); // started now, so the first read does not wait for it
  }

  /** The object's bytes, or null when it does not exist (as S3Fetcher.get). */
  async get(s3Key: string): Promise<Buffer | null> {
    return (await this.getCaching(s3Key)).data;
  }

  /**
   * get, and once a content-addressed object checked out against its hash, its copy appended to the cache
   * in place by the worker (cached says where). The bytes come back marked as checked (codec.ts markChecked).
   * s3Key: the object's key in the bucket; cacheKey: its key in the cache (the same without a prefix).
   */
  async getCaching(s3Key: string, place?: CachePlace, cacheKey = s3Key): Promise<Fetched> {
    if (this.local) {
      const data = await this.local.get(s3Key);
      if (data === null) return { data, checked: false, cached: null };
      const { ok: checked, content } = checkContentAddressed(s3Key, data);
      if (checked) this.mark(s3Key, data, content);
      return { data, checked, cached: checked && place ? await appendCached(place, cacheKey, data) : null };
    }
    const { accessKeyId, secretAccessKey, sessionToken } = await this.o.credentials();
    const cred = { accessKeyId, secretAccessKey, sessionToken };
    return this.send(s3Key, (id) => ({ id, op: 'get', key: s3Key, cred, cache: place, cacheKey }));
  }

  /** A cached copy (size bytes at offset of a pack file) read and checked against key's hash by the worker
   *  (null: not there). A copy that checks out comes back marked as checked; one that does not, unmarked (the
   *  caller's check fails). */
  async readCached(key: string, file: string, offset: number, size: number): Promise<Buffer | null> {
    if (this.local) {
      const r = readCachedAt(key, file, offset, size);
      if (r?.checked) this.mark(key, r.data, r.content);
      return r?.data ?? null;
    }
    return (await this.send(key, (id) => ({ id, op: 'read', key, file, offset, size }))).data;
  }

  private send(key: string, request: (id: number) => FetchRequest): Promise<Fetched> {
    const w = this.ensure();
    const id = this.nextId++;
    return new Promise<Fetched>((resolve, reject) => {
      this.pending.set(id, { key, resolve, reject });
      if (this.pending.size === 1) w.ref(); // keep the process alive while a request is out
      w.postMessage(request(id));
    });
  }

  private mark(key: string, data: Buffer, content?: Uint8Array): void {
    const hash = CONTENT_KEY.exec(key)?.[3];
    // not hashed (nor decompressed) again on this thread (codec.ts)
    if (hash) markChecked(data, hash, content && Buffer.from(content.buffer, content.byteOffset, content.byteLength));
  }

  /** Ends the fetches; the cache packs the fetches appended to and read are closed first (at most 1 s is
   *  waited for the worker to do so; its thread's exit closes what is left). */
  async close(): Promise<void> {
    if (this.local) {
      this.local.close();
      closeCachedFiles();
      return;
    }
    const w = this.worker;
    if (!w) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.send('', (id) => ({ id, op: 'close' })).catch(() => {}),
      new Promise<void>((r) => (timer = setTimeout(r, 1000))),
    ]);
    clearTimeout(timer);
    this.fail(w, new Error('S3 fetches closed'));
    await w.terminate();
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const { credentials: _, ...opts } = this.o;
    const w = new Worker(this.script!, { workerData: opts });
    w.unref();
    // an unref before the thread is up does not hold: idle, it must not keep the process alive
    w.once('online', () => {
      if (this.pending.size === 0) w.unref();
    });
    w.on('message', (m: FetchReply) => this.settle(m));
    w.on('error', (e) => this.fail(w, e));
    w.on('exit', (code) => this.fail(w, new Error(`the S3 fetch worker exited (${code})`)));
    this.worker = w;
    return w;
  }

  private settle(m: FetchReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker?.unref();
    if ('error' in m) p.reject(toError(m.error));
    else if (!m.data) p.resolve({ data: null, checked: false, cached: null });
    else {
      const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
      if (m.checked) this.mark(p.key, data, m.content);
      p.resolve({ data, checked: m.checked === true, cached: m.cached ?? null });
    }
  }

  /** The worker failed: its requests fail (callers retry as after a network error); the next starts a new one. */
  private fail(w: Worker, e: Error): void {
    if (this.worker !== w) return;
    this.worker = null;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(Object.assign(e, { code: (e as { code?: string }).code ?? 'ECONNRESET' }));
  }
}
