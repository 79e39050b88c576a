// Coalesces the records written during one event-loop turn into as few socket writes as
// possible. Small buffers are copied into one; large ones (file data) go by reference.
import type { Socket } from 'node:net';

/** Buffers at least this big are written by reference instead of being copied. */
const COPY_LIMIT = 16 * 1024;

export class OutboundQueue {
  private queue: Buffer[] = [];
  private bytes = 0;
  private hasLarge = false;
  private scheduled = false;
  /** run once the queued buffers have been written */
  private sentCallbacks: (() => void)[] = [];

  /** `onBlocked` is called when what a flush left in the socket's buffer is over its high-water mark. */
  constructor(
    private readonly socket: Socket,
    private readonly onBlocked?: () => void,
  ) {}

  get pendingBytes(): number {
    return this.bytes;
  }

  push(buf: Buffer): void {
    this.queue.push(buf);
    this.bytes += buf.length;
    if (buf.length >= COPY_LIMIT) this.hasLarge = true;
    this.schedule();
  }

  pushAll(chunks: Buffer[], onSent?: () => void): void {
    if (onSent) this.sentCallbacks.push(onSent);
    for (let i = 0; i < chunks.length; i++) {
      this.queue.push(chunks[i]);
      this.bytes += chunks[i].length;
      if (chunks[i].length >= COPY_LIMIT) this.hasLarge = true;
    }
    this.schedule();
  }

  /** Writes everything queued now. */
  flush = (): void => {
    this.scheduled = false;
    const q = this.queue;
    const bytes = this.bytes;
    const hasLarge = this.hasLarge;
    const sent = this.takeCallbacks();
    if (q.length === 0) {
      sent?.();
      return;
    }
    this.queue = [];
    this.bytes = 0;
    this.hasLarge = false;
    const s = this.socket;
    if (s.destroyed || !s.writable) {
      sent?.();
      return;
    }
    let ok: boolean;
    if (q.length === 1) {
      ok = s.write(q[0], sent);
    } else if (!hasLarge) {
      ok = s.write(Buffer.concat(q, bytes), sent);
    } else {
      ok = this.writeMixed(q, sent);
    }
    // A write (or a corked batch) over the high-water mark returns false even when the kernel took all of it at
    // once: a 1 MiB READ reply always did, and paused reading until 'drain' (two epoll_ctl and an extra loop turn
    // per READ). Blocked means bytes are still waiting in the socket's buffer.
    if (!ok && this.onBlocked && s.writableLength >= s.writableHighWaterMark) this.onBlocked();
  };

  /** Drops anything queued (the socket is gone). */
  discard(): void {
    this.takeCallbacks()?.();
    this.queue = [];
    this.bytes = 0;
    this.hasLarge = false;
  }

  private takeCallbacks(): (() => void) | undefined {
    const cbs = this.sentCallbacks;
    if (cbs.length === 0) return undefined;
    this.sentCallbacks = [];
    return () => {
      for (const cb of cbs) cb();
    };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flush);
  }

  // Runs of small buffers are concatenated; large buffers are passed through uncopied.
  private writeMixed(q: Buffer[], sent?: () => void): boolean {
    const s = this.socket;
    const out: Buffer[] = [];
    let run: Buffer[] = [];
    let runBytes = 0;
    const flushRun = (): void => {
      if (run.length === 0) return;
      out.push(run.length === 1 ? run[0] : Buffer.concat(run, runBytes));
      run = [];
      runBytes = 0;
    };
    for (const b of q) {
      if (b.length >= COPY_LIMIT) {
        flushRun();
        out.push(b);
      } else {
        run.push(b);
        runBytes += b.length;
      }
    }
    flushRun();
    s.cork();
    let ok = true;
    for (let i = 0; i < out.length; i++) ok = s.write(out[i], i === out.length - 1 ? sent : undefined) && ok;
    s.uncork();
    return ok;
  }
}
