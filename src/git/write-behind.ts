// A backend wrapper for bulk writes (import-git): put() queues the write and resolves at once, reads see
// queued data, has() answers "absent" for anything not queued (rewriting an immutable object is harmless
// and resets its age for gc). flush() waits for every write and makes it durable: the workers' packs are
// fsynced as they are closed (with their directory), and objects written as files (none in an import of a
// fresh project) by one syncfs (`sync -f`) instead of an fsync each. Nothing names these objects until the
// caller moves the head, after flush().
//
// Over the local data directory the writes (and the compression of blobs given raw) run in worker
// threads with synchronous file calls, so they use the other cores; elsewhere (S3) they go to the
// wrapped backend, a few at a time. Two workers: creating a file is mostly the filesystem allocating an
// inode (on a busy ext4 several hundred microseconds of kernel CPU each), and two directories' inodes are
// allocated in parallel while the main thread, waiting for them, is idle. Immutable objects (blobs, trees,
// head records, blame index objects) go into pack files instead (store/local-packs.ts: one file per worker,
// not one per object); flush() closes them, durable. Until then reads of packed objects go to the workers'
// temporary pack files.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LocalBackend, encodeStored, validateRelKey, type ObjectBackend } from '../store/index.js';
import type { WriteBatch, WriteItem, WriteReply, WriteRequest } from './write-worker.js';

const CONCURRENCY = 16;
const MAX_QUEUED_BYTES = 128 * 1024 * 1024;
const BATCH = 1024;
/** A batch is sent once its bytes reach this, and goes in a pooled shared buffer of this size (see sendBatch). */
const BATCH_BYTES = 4 * 1024 * 1024;
const POOLED_BUFFERS = 8;
const WORKERS = 2;

function workerScript(): URL | null {
  const url = new URL('./write-worker.js', import.meta.url);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : null;
}

interface Queued {
  data: Buffer;
  raw: boolean;
}

export class WriteBehindBackend implements ObjectBackend {
  private readonly queued = new Map<string, Queued>();
  private readonly waiting: (() => void)[] = [];
  private idle: (() => void)[] = [];
  private running = 0;
  private bytes = 0;
  private failure: unknown = null;
  private fifo: string[] = [];
  private head = 0;
  private workers: Worker[] = [];
  private nextWorker = 0;
  private batch: WriteItem[] = [];
  /** packed by a worker: key -> slot in packPath/packOffset/packLength (numbers, not an object and a path
   *  string per key: 80k keys for a 10k-commit history, which the young generation kept copying) */
  private readonly located = new Map<string, number>();
  private readonly packPaths: string[] = [];
  private readonly packPath: number[] = [];
  private readonly packOffset: number[] = [];
  private readonly packLength: number[] = [];
  /** objects the workers wrote as files, not into packs: flush() needs a syncfs for them */
  private loose = 0;
  private readonly fds = new Map<string, number>();
  private readonly control = new Map<number, (m: WriteReply) => void>();
  private finished = false;
  private batchTimer: NodeJS.Immediate | null = null;
  private readonly inflightBatches = new Map<number, { key: string; q: Queued }[]>();
  /** shared buffers free for a batch, and the one each batch in flight uses */
  private readonly freeBuffers: SharedArrayBuffer[] = [];
  private readonly batchBuffers = new Map<number, SharedArrayBuffer>();
  private batchBytes = 0;
  private nextBatch = 1;
  written = 0;
  bytesWritten = 0;

  constructor(
    private readonly inner: ObjectBackend,
    private readonly root: string | null,
  ) {
    const script = root ? workerScript() : null;
    for (let i = 0; script && i < WORKERS; i++) {
      const w = new Worker(script, { workerData: { root } });
      w.on('message', (m: WriteReply) => this.onReply(m));
      w.on('error', (e) => {
        this.failure ??= e;
        this.settle();
      });
      this.workers.push(w);
    }
  }

  /** For the catalog's local directory: packs fsynced as they are finished, other writes without fsync and one
   *  syncfs in flush(). */
  static over(backend: ObjectBackend): WriteBehindBackend {
    if (backend instanceof LocalBackend) return new WriteBehindBackend(new LocalBackend(backend.root, { fsync: false }), backend.root);
    return new WriteBehindBackend(backend, null);
  }

  async put(key: string, data: Buffer): Promise<void> {
    return this.enqueue(key, data, false);
  }

  /** Queues content to be stored compressed (encodeStored) under key. */
  putContent(key: string, content: Buffer): Promise<void> {
    return this.enqueue(key, content, true);
  }

  private async enqueue(key: string, data: Buffer, raw: boolean): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.queued.has(key) || this.located.has(key)) return;
    const q = { data, raw };
    this.queued.set(key, q);
    this.bytes += data.length;
    if (this.workers.length) {
      validateRelKey(key);
      this.batch.push({ key, data, encode: raw });
      this.batchBytes += data.length;
      if (this.batch.length >= BATCH || this.batchBytes >= BATCH_BYTES) this.sendBatch();
      else this.batchTimer ??= setImmediate(() => this.sendBatch());
    } else {
      this.fifo.push(key);
      this.pump();
    }
    if (this.bytes > MAX_QUEUED_BYTES) await new Promise<void>((r) => this.waiting.push(r));
  }

  private sendBatch(): void {
    if (this.batchTimer) {
      clearImmediate(this.batchTimer);
      this.batchTimer = null;
    }
    if (!this.batch.length) return;
    const id = this.nextBatch++;
    const b = this.batch;
    this.batch = [];
    this.inflightBatches.set(
      id,
      b.map((x) => ({ key: x.key, q: this.queued.get(x.key)! })),
    );
    this.running++;
    // The batch's bytes are copied into a pooled SharedArrayBuffer (the worker writes them before it
    // answers and keeps no view of them): transferring a fresh ArrayBuffer per batch cost ~4 ms a
    // postMessage on the importer's main thread (detaching and accounting external memory), and GC.
    const lengths = new Uint32Array(b.length);
    const encode = new Uint8Array(b.length);
    let total = 0;
    for (let i = 0; i < b.length; i++) {
      total += lengths[i] = b[i]!.data.length;
      encode[i] = b[i]!.encode ? 1 : 0;
    }
    this.batchBytes = 0;
    const free = this.freeBuffers.findIndex((x) => x.byteLength >= total);
    const data = free >= 0 ? this.freeBuffers.splice(free, 1)[0]! : new SharedArrayBuffer(Math.max(total, BATCH_BYTES));
    this.batchBuffers.set(id, data);
    const all = new Uint8Array(data);
    let at = 0;
    for (const x of b) {
      all.set(x.data, at);
      at += x.data.length;
    }
    const batch: WriteBatch = { keys: b.map((x) => x.key).join('\0'), lengths, encode, data };
    this.workers[this.nextWorker++ % this.workers.length]!.postMessage({ id, batch } satisfies WriteRequest);
  }

  private onReply(m: WriteReply): void {
    const ctl = this.control.get(m.id);
    if (ctl) {
      this.control.delete(m.id);
      ctl(m);
      return;
    }
    const items = this.inflightBatches.get(m.id) ?? [];
    this.inflightBatches.delete(m.id);
    this.loose += m.loose ?? 0;
    if (m.pack && m.offsets && m.lengths) {
      let p = this.packPaths.indexOf(m.pack);
      if (p < 0) p = this.packPaths.push(m.pack) - 1;
      for (let i = 0; i < items.length; i++) {
        const offset = m.offsets[i]!;
        if (offset < 0) continue;
        this.located.set(items[i]!.key, this.packOffset.length);
        this.packPath.push(p);
        this.packOffset.push(offset);
        this.packLength.push(m.lengths[i]!);
      }
    }
    const buf = this.batchBuffers.get(m.id);
    this.batchBuffers.delete(m.id);
    if (buf && buf.byteLength === BATCH_BYTES && this.freeBuffers.length < POOLED_BUFFERS) this.freeBuffers.push(buf);
    this.running--;
    if (m.error) this.failure ??= new Error(`writing objects: ${m.error}`);
    this.written += m.done;
    this.bytesWritten += m.bytes;
    for (const { key, q } of items) this.done(key, q);
    this.settle();
  }

  private done(key: string, q: Queued): void {
    if (this.queued.get(key) === q) this.queued.delete(key);
    this.bytes -= q.data.length;
  }

  private settle(): void {
    if (this.bytes <= MAX_QUEUED_BYTES / 2 || this.failure) for (const w of this.waiting.splice(0)) w();
    if ((this.queued.size === 0 && this.running === 0) || this.failure) for (const f of this.idle.splice(0)) f();
  }

  private pump(): void {
    while (this.running < CONCURRENCY && this.head < this.fifo.length) {
      const key = this.fifo[this.head++]!;
      if (this.head > 4096 && this.head * 2 > this.fifo.length) {
        this.fifo = this.fifo.slice(this.head);
        this.head = 0;
      }
      const q = this.queued.get(key)!;
      const data = q.raw ? encodeStored(q.data) : q.data;
      this.running++;
      this.inner
        .put(key, data)
        .then(
          () => {
            this.written++;
            this.bytesWritten += data.length;
          },
          (e: unknown) => {
            this.failure ??= e;
          },
        )
        .finally(() => {
          this.running--;
          this.done(key, q);
          this.settle();
          this.pump();
        });
    }
  }

  /** Asks every worker to close its packs (finish: into place and durable; else: removed). */
  private async endPacks(finish: boolean): Promise<void> {
    const replies = await Promise.all(
      this.workers.map((w) => {
        const id = this.nextBatch++;
        const p = new Promise<WriteReply>((r) => this.control.set(id, r));
        w.postMessage({ id, finish, abort: !finish } satisfies WriteRequest);
        return p;
      }),
    );
    for (const r of replies) if (r.error) this.failure ??= new Error(`closing packs: ${r.error}`);
  }

  /** Every queued write done and durable; stops the workers. */
  async flush(): Promise<void> {
    const viaWorkers = this.workers.length > 0;
    if (viaWorkers) this.sendBatch();
    if (this.queued.size || this.running) await new Promise<void>((r) => this.idle.push(r));
    if (!this.failure && this.workers.length) await this.endPacks(true);
    this.finished = true;
    await this.close();
    if (this.failure) throw this.failure;
    const inner = this.inner as { drain?: () => Promise<unknown> };
    if (typeof inner.drain === 'function') await inner.drain();
    // Packs are durable once finished (PackWriter.finish: fsync of the file and of its directories); only
    // objects written as files need the syncfs
    if (this.root && (this.loose > 0 || !viaWorkers)) {
      const r = spawnSync('sync', ['-f', this.root]);
      if (r.status !== 0) spawnSync('sync');
    }
  }

  /** Stops the workers; packs not finished by flush() are removed. */
  async close(): Promise<void> {
    if (!this.finished && this.workers.length) {
      this.finished = true;
      await Promise.race([this.endPacks(false), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  async get(key: string): Promise<Buffer | null> {
    const q = this.queued.get(key);
    if (q) return q.raw ? encodeStored(q.data) : q.data;
    const at = this.located.get(key);
    if (at !== undefined && !this.finished) {
      const path = this.packPaths[this.packPath[at]!]!;
      const length = this.packLength[at]!;
      let fd = this.fds.get(path);
      if (fd === undefined) {
        fd = openSync(path, 'r');
        this.fds.set(path, fd);
      }
      const b = Buffer.allocUnsafe(length);
      if (readSync(fd, b, 0, length, this.packOffset[at]!) !== length) throw new Error(`${path}: short read`);
      return b;
    }
    return this.inner.get(key);
  }
  readonly cacheTier = null;
  async has(key: string): Promise<boolean> {
    return this.queued.has(key) || this.located.has(key);
  }
  /** Queued or packed: present now. Anything else answers absent, so the store writes it (again). */
  async stat(key: string): Promise<{ size: number; mtimeMs: number } | null> {
    const q = this.queued.get(key);
    if (q) return { size: q.data.length, mtimeMs: Date.now() };
    const at = this.located.get(key);
    return at !== undefined ? { size: this.packLength[at]!, mtimeMs: Date.now() } : null;
  }
  touch(key: string): Promise<void> {
    return this.inner.touch(key);
  }
  isTransient(e: unknown): boolean {
    return this.inner.isTransient(e);
  }
  async delete(key: string): Promise<void> {
    this.queued.delete(key);
    await this.inner.delete(key);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  getRef(key: string) {
    return this.inner.getRef(key);
  }
  casRef(key: string, data: Buffer, expect: string | null) {
    return this.inner.casRef(key, data, expect);
  }
}
