// A backend wrapper for bulk writes (import-git): put() queues the write and resolves at once, reads see
// queued data, has() answers "absent" for anything not queued (rewriting an immutable object is harmless
// and resets its age for gc). flush() waits for every write, then makes the local directory durable with
// one syncfs (`sync -f`) instead of an fsync per object. Nothing names these objects until the caller
// moves the head, after flush().
//
// Over the local data directory the writes (and the compression of blobs given raw) run in worker
// threads with synchronous file calls, so they use the other cores; elsewhere (S3) they go to the
// wrapped backend, a few at a time. Two workers: creating a file is mostly the filesystem allocating an
// inode (on a busy ext4 several hundred microseconds of kernel CPU each), and two directories' inodes are
// allocated in parallel while the main thread, waiting for them, is idle.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LocalBackend, encodeStored, validateRelKey, type ObjectBackend } from '../store/index.js';
import type { WriteItem, WriteReply, WriteRequest } from './write-worker.js';

const CONCURRENCY = 16;
const MAX_QUEUED_BYTES = 128 * 1024 * 1024;
const BATCH = 256;
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
  private batch: { key: string; item: WriteItem }[] = [];
  private batchTimer: NodeJS.Immediate | null = null;
  private readonly inflightBatches = new Map<number, { key: string; q: Queued }[]>();
  private nextBatch = 1;
  written = 0;
  bytesWritten = 0;

  constructor(
    private readonly inner: ObjectBackend,
    private readonly root: string | null,
  ) {
    const script = root ? workerScript() : null;
    for (let i = 0; script && i < WORKERS; i++) {
      const w = new Worker(script);
      w.on('message', (m: WriteReply) => this.onReply(m));
      w.on('error', (e) => {
        this.failure ??= e;
        this.settle();
      });
      this.workers.push(w);
    }
  }

  /** For the catalog's local directory: writes without fsync, one syncfs in flush(). */
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
    if (this.queued.has(key)) return;
    const q = { data, raw };
    this.queued.set(key, q);
    this.bytes += data.length;
    if (this.workers.length) {
      validateRelKey(key);
      this.batch.push({ key, item: { path: join(this.root!, key), data, encode: raw } });
      if (this.batch.length >= BATCH) this.sendBatch();
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
    // each item's bytes in an ArrayBuffer of their own, transferred: cloning a view would copy its whole backing buffer
    const items = b.map((x) => ({ ...x.item, data: new Uint8Array(x.item.data) }));
    this.workers[this.nextWorker++ % this.workers.length]!.postMessage(
      { id, items } satisfies WriteRequest,
      items.map((i) => i.data.buffer as ArrayBuffer),
    );
  }

  private onReply(m: WriteReply): void {
    const items = this.inflightBatches.get(m.id) ?? [];
    this.inflightBatches.delete(m.id);
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

  /** Every queued write done and durable; stops the workers. */
  async flush(): Promise<void> {
    if (this.workers.length) this.sendBatch();
    if (this.queued.size || this.running) await new Promise<void>((r) => this.idle.push(r));
    await this.close();
    if (this.failure) throw this.failure;
    const inner = this.inner as { drain?: () => Promise<unknown> };
    if (typeof inner.drain === 'function') await inner.drain();
    if (this.root) {
      const r = spawnSync('sync', ['-f', this.root]);
      if (r.status !== 0) spawnSync('sync');
    }
  }

  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }

  async get(key: string): Promise<Buffer | null> {
    const q = this.queued.get(key);
    if (q) return q.raw ? encodeStored(q.data) : q.data;
    return this.inner.get(key);
  }
  readonly cacheTier = null;
  async has(key: string): Promise<boolean> {
    return this.queued.has(key);
  }
  /** Queued: present now. Anything else answers absent, so the store writes it (again). */
  async stat(key: string): Promise<{ size: number; mtimeMs: number } | null> {
    const q = this.queued.get(key);
    return q ? { size: q.data.length, mtimeMs: Date.now() } : null;
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
