// Background uploads of immutable, content-addressed objects (blobs, trees, head records) to the remote.
// enqueue() makes the bytes durable in a local outbox (LocalBackend: temp file, fsync, rename, fsync dir)
// and returns; workers (bounded concurrency) upload them, retrying forever with capped exponential backoff
// and jitter, and delete the outbox copy once the remote has it. What an earlier process left in the outbox
// is asked for first (HEAD): an object already in the remote is never sent again. An object enqueued by
// this process is sent without asking: its writer just found it absent (ObjectIo.existsFresh), and a PUT
// of the same bytes under a content-addressed key changes nothing, so the HEAD would only cost every
// upload a round trip (a landing waits for its uploads). barrier() resolves once everything queued before the call is uploaded: mutable writes
// (head ref, session documents) wait for it, so they never name an object the remote does not hold.
// resume() re-queues what an earlier process left in the outbox.
import type { Logger } from 'pino';
import type { ObjectBackend } from './object-backend.js';
import { isContentAddressedKey, verifyContentAddressed } from './disk-cache.js';

export interface UploadQueueOptions {
  /** Durable local copies of queued objects (a LocalBackend over <data-dir>/outbox). */
  outbox: ObjectBackend;
  remote: ObjectBackend;
  log?: Logger;
  /** Another place to find an object whose outbox copy is missing or corrupt (the disk cache). */
  fallback?: (key: string) => Promise<Buffer | null>;
  /** Uploads at once (default 8). */
  concurrency?: number;
  /** First retry delay (default 250 ms), doubled per failure up to maxDelayMs (default 5 s), with jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How long barrier() waits before failing (default 5 min). */
  barrierTimeoutMs?: number;
}

export interface UploadStats {
  /** objects waiting or uploading */
  queued: number;
  /** objects uploaded by this process */
  uploaded: number;
  /** objects the remote already held (HEAD), so not sent */
  skipped: number;
  /** failed attempts, each retried later */
  retries: number;
  /** age of the oldest queued object in ms (0 when empty) */
  oldestPendingMs: number;
  /** objects dropped because no valid copy was left (logged as errors) */
  lost: number;
}

/** A mutable write waited too long for the uploads before it. */
export class UploadsPendingError extends Error {
  override name = 'UploadsPendingError';
}

interface Item {
  seq: number;
  since: number;
  /** ask the remote before sending (resumed from the outbox) */
  check: boolean;
}
interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class UploadQueue {
  private readonly pending = new Map<string, Item>(); // insertion order = seq order
  private readonly ready: string[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private readonly counts = { uploaded: 0, skipped: 0, retries: 0, lost: 0 };
  private seq = 0;
  private active = 0;
  private stopped = false;
  private keepalive: NodeJS.Timeout | null = null;
  private lastOk = 0;
  private lastFail = 0;
  private readonly concurrency: number;

  constructor(private readonly o: UploadQueueOptions) {
    this.concurrency = Math.max(1, o.concurrency ?? 8);
  }

  /** Did the latest upload attempt fail (the remote is probably unreachable)? */
  get failing(): boolean {
    return this.lastFail > this.lastOk;
  }

  /** Is nothing queued (every object put so far is in the remote)? */
  get idle(): boolean {
    return this.pending.size === 0;
  }

  /** Is key queued (not yet known to be in the remote)? */
  has(key: string): boolean {
    return this.pending.has(key);
  }

  /** Durably stores the object in the outbox and queues its upload. */
  async enqueue(key: string, data: Buffer): Promise<void> {
    if (!isContentAddressedKey(key)) throw new Error(`only content-addressed objects are queued: ${key}`);
    if (this.pending.has(key)) return;
    await this.o.outbox.put(key, data);
    this.add(key, Date.now(), false);
  }

  /** The outbox copy of a queued object (verified), or null. */
  async read(key: string): Promise<Buffer | null> {
    const data = await this.o.outbox.get(key).catch(() => null);
    return data && verifyContentAddressed(key, data) ? data : null;
  }

  /** Queues everything an earlier process left in the outbox; returns how many. */
  async resume(): Promise<number> {
    let n = 0;
    for await (const o of this.o.outbox.list('')) {
      if (!isContentAddressedKey(o.key) || this.pending.has(o.key)) continue;
      this.add(o.key, o.mtimeMs || Date.now(), true);
      n++;
    }
    return n;
  }

  /** Resolves once everything queued before the call is in the remote; rejects after barrierTimeoutMs. */
  barrier(timeoutMs = this.o.barrierTimeoutMs ?? 300_000): Promise<void> {
    return this.waitFor(this.seq, timeoutMs, true).then(() => {});
  }

  /** Waits until everything queued so far is uploaded; false if timeoutMs passed first. */
  drain(timeoutMs = Infinity): Promise<boolean> {
    return this.waitFor(this.seq, timeoutMs, false);
  }

  /** Waits for an upload of key in flight to finish, then forgets it and its outbox copy. */
  async cancel(key: string): Promise<void> {
    const i = this.ready.indexOf(key);
    if (i >= 0) {
      this.ready.splice(i, 1);
      this.finish(key);
    } else if (this.pending.has(key)) {
      await this.waitFor(this.pending.get(key)!.seq, Infinity, false); // uploading now
    }
    await this.o.outbox.delete(key);
  }

  stats(): UploadStats {
    let oldest = Infinity;
    for (const it of this.pending.values()) oldest = Math.min(oldest, it.since);
    return { queued: this.pending.size, ...this.counts, oldestPendingMs: this.pending.size ? Math.max(0, Date.now() - oldest) : 0 };
  }

  /** Stops the workers; what is not uploaded stays in the outbox for resume(). */
  close(): void {
    this.stopped = true;
    for (const s of this.sleeps) {
      clearTimeout(s.timer);
      s.wake();
    }
    this.sleeps.clear();
    for (const w of this.waiters.splice(0)) w.reject(new UploadsPendingError('the upload queue was closed'));
    this.holdProcess();
  }

  private add(key: string, since: number, check: boolean): void {
    if (this.pending.has(key)) return; // a concurrent enqueue of the same object
    this.pending.set(key, { seq: ++this.seq, since, check });
    this.ready.push(key);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.active < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      this.active++;
      void this.work(key).finally(() => {
        this.active--;
        this.pump();
      });
    }
  }

  private async work(key: string): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.uploadOnce(key);
        this.lastOk = performance.now();
        this.finish(key);
        return;
      } catch (e) {
        if (this.stopped) return;
        this.lastFail = performance.now();
        this.counts.retries++;
        const delay = Math.min(this.o.maxDelayMs ?? 5_000, (this.o.baseDelayMs ?? 250) * 2 ** Math.min(attempt, 20));
        this.o.log?.warn(
          { key, attempt: attempt + 1, err: (e as Error).message, retryInMs: Math.round(delay) },
          'upload failed, will retry',
        );
        await this.sleep(delay * (0.5 + Math.random() / 2));
      }
    }
  }

  private async uploadOnce(key: string): Promise<void> {
    const inS3 = (this.pending.get(key)?.check ?? true) && (await this.o.remote.has(key));
    if (this.stopped) throw new Error('closed'); // leave it to the next process
    if (inS3) {
      this.counts.skipped++;
    } else {
      let data = await this.read(key);
      if (!data && this.o.fallback) {
        const alt = await this.o.fallback(key).catch(() => null);
        data = alt && verifyContentAddressed(key, alt) ? alt : null;
      }
      if (!data) {
        // Nothing valid to send: waiting would block every later mutable write forever.
        this.counts.lost++;
        this.o.log?.error({ key }, 'queued object has no valid local copy; dropped from the upload queue');
        await this.o.outbox.delete(key).catch(() => {});
        return;
      }
      if (this.stopped) throw new Error('closed');
      await this.o.remote.put(key, data);
      // a PUT that outlived close() (the SDK retries inside it) leaves its outbox copy to the next process,
      // which finds the object with a HEAD: after close() the outbox is only ever what it was
      if (this.stopped) throw new Error('closed');
      this.counts.uploaded++;
    }
    await this.o.outbox.delete(key);
  }

  private finish(key: string): void {
    this.pending.delete(key);
    const first = this.pending.values().next();
    const minSeq = first.done ? Infinity : first.value.seq;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.seq < minSeq) this.waiters.splice(i, 1)[0]!.resolve();
    }
    this.holdProcess();
  }

  private waitFor(seq: number, timeoutMs: number, fail: boolean): Promise<boolean> {
    const first = this.pending.values().next();
    if (first.done || first.value.seq > seq) return Promise.resolve(true);
    return new Promise<boolean>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const done = () => {
        if (timer) clearTimeout(timer);
      };
      const w: Waiter = {
        seq,
        resolve: () => {
          done();
          resolve(true);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      this.waiters.push(w);
      this.holdProcess();
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          this.holdProcess();
          if (!fail) return resolve(false);
          const s = this.stats();
          reject(
            new UploadsPendingError(
              `${s.queued} object(s) not yet uploaded to the object store after ${Math.round(timeoutMs / 1000)} s ` +
                `(oldest ${Math.round(s.oldestPendingMs / 1000)} s, ${s.retries} failed attempts): is it reachable?`,
            ),
          );
        }, timeoutMs);
      }
    });
  }

  /** Backoff timers do not keep the process alive, except while someone waits for the uploads. */
  private holdProcess(): void {
    if (this.waiters.length > 0 && !this.keepalive) this.keepalive = setInterval(() => {}, 1 << 30);
    if (this.waiters.length === 0 && this.keepalive) {
      clearInterval(this.keepalive);
      this.keepalive = null;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const s = {
        timer: setTimeout(() => {
          this.sleeps.delete(s);
          resolve();
        }, ms),
        wake: resolve,
      };
      s.timer.unref();
      this.sleeps.add(s);
    });
  }
}
