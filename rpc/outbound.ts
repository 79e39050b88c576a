// Coalesces the records written during one event-loop turn into as few socket writes as
// possible. Small buffers are copied into one; large ones (file data) go by reference; bytes of a
// file (FileSlice) go by sendfile(2) when nothing is queued in front of them (file-slice.ts).
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FileSlice, releaseAll, sendfileAddon, type ReplyPart } from './file-slice.js';

/** Buffers at least this big are written by reference instead of being copied. */
const COPY_LIMIT = 16 * 1024;
const EMPTY = Buffer.alloc(0);
/** What is left of a file slice the kernel took in part: this much goes through Node (read into a buffer) to wait
 *  for room in the socket; more than the socket's high-water mark, so that 'drain' ends the pause it causes. */
const PROBE = 64 * 1024;

/** The socket's own file descriptor, or -1 (closed, not a plain TCP/pipe handle). */
function socketFd(s: Socket): number {
  if (s.destroyed) return -1;
  const fd = (s as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

export class OutboundQueue {
  private queue: ReplyPart[] = [];
  private bytes = 0;
  private hasLarge = false;
  private hasFile = false;
  /** held: the queue waits for a write through Node to complete (resume) */
  private waiting = false;
  private scheduled = false;
  /** run once the queued buffers have been written */
  private sentCallbacks: (() => void)[] = [];

  /**
   * `onBlocked` is called when what a flush left in the socket's buffer is over its high-water mark; `log` (debug)
   * is told of file bytes the kernel did not take at once.
   */
  constructor(
    private readonly socket: Socket,
    private readonly onBlocked?: () => void,
    private readonly log?: Logger,
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

  pushAll(chunks: ReplyPart[], onSent?: () => void): void {
    if (onSent) this.sentCallbacks.push(onSent);
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i];
      this.queue.push(c);
      this.count(c);
    }
    this.schedule();
  }

  /** Writes everything queued now (unless held: file bytes wait for a write to complete, see writeWithFiles). */
  flush = (): void => {
    this.scheduled = false;
    if (this.waiting) return;
    const q = this.queue;
    const bytes = this.bytes;
    const hasLarge = this.hasLarge;
    const hasFile = this.hasFile;
    const sent = this.takeCallbacks();
    if (q.length === 0) {
      sent?.();
      return;
    }
    this.queue = [];
    this.bytes = 0;
    this.hasLarge = false;
    this.hasFile = false;
    const s = this.socket;
    if (s.destroyed || !s.writable) {
      if (hasFile) releaseAll(q);
      sent?.();
      return;
    }
    let ok: boolean;
    if (hasFile) {
      ok = this.writeWithFiles(q, sent);
    } else if (q.length === 1) {
      ok = s.write(q[0] as Buffer, sent);
    } else if (!hasLarge) {
      ok = s.write(Buffer.concat(q as Buffer[], bytes), sent);
    } else {
      ok = this.writeMixed(q as Buffer[], sent);
    }
    // A write (or a corked batch) over the high-water mark returns false even when the kernel took all of it at
    // once: a 1 MiB READ reply always did, and paused reading until 'drain' (two epoll_ctl and an extra loop turn
    // per READ). Blocked means bytes are still waiting in the socket's buffer.
    if (!ok && this.onBlocked && s.writableLength >= s.writableHighWaterMark) this.onBlocked();
  };

  /** Drops anything queued (the socket is gone). */
  discard(): void {
    this.waiting = false;
    this.takeCallbacks()?.();
    if (this.hasFile) releaseAll(this.queue);
    this.queue = [];
    this.bytes = 0;
    this.hasLarge = false;
    this.hasFile = false;
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

  /**
   * A flush with bytes of files in it. Each slice whose turn comes while nothing waits in Node's write queue goes
   * to the kernel directly: the small buffers before it as its head (send with MSG_MORE), then sendfile. A slice
   * whose turn comes while Node still has bytes to write, or that the kernel takes only in part (a full socket
   * buffer: EAGAIN), is held with everything after it until a write through Node completes: the buffers in front
   * of it, or PROBE bytes of what is left of it (read into a buffer), which also waits for the socket to take
   * bytes again. Without the addon, or on a socket without an fd of its own (TLS), slices are read into buffers.
   */
  private writeWithFiles(q: ReplyPart[], sent?: () => void): boolean {
    const s = this.socket;
    const addon = sendfileAddon();
    const direct = addon !== null && (s as { encrypted?: boolean }).encrypted !== true;
    let run: Buffer[] = [];
    let ok = true;
    const writeRun = (cb?: () => void): void => {
      if (run.length === 0) return;
      ok = this.writeMixed(run, cb) && ok;
      run = [];
    };
    for (let i = 0; i < q.length; i++) {
      const p = q[i];
      if (!(p instanceof FileSlice)) {
        run.push(p);
        continue;
      }
      const fd = direct ? socketFd(s) : -1;
      if (fd < 0) {
        run.push(p.read());
        continue;
      }
      // large buffers are not copied into a head: written first (usually at once, leaving nothing queued)
      if (run.some((b) => b.length >= COPY_LIMIT)) writeRun();
      if (s.writableLength > 0) {
        // Node still writes: the head goes behind it, the slice waits for it
        if (run.length > 0) writeRun(this.resume);
        else s.write(EMPTY, this.resume);
        this.hold(q, i, sent);
        return ok;
      }
      const head = run.length === 0 ? EMPTY : run.length === 1 ? run[0] : Buffer.concat(run);
      run = [];
      const total = head.length + p.size;
      const n = addon!.send(fd, head, p.fd, p.offset, p.length, p.pad);
      if (n === total) {
        p.release();
        continue;
      }
      if (n < 0) {
        // an error (the connection is going): the ordinary write reports it
        run.push(head, p.read());
        continue;
      }
      if (this.log?.isLevelEnabled('debug')) this.log.debug({ sent: n, head: head.length, file: p.size }, 'rpc: sendfile partial');
      if (n < head.length) {
        ok = s.write(head.subarray(n), this.resume) && ok;
      } else {
        p.consume(n - head.length);
        ok = s.write(p.take(Math.min(PROBE, p.size)), this.resume) && ok;
      }
      if (p.size === 0) {
        p.release();
        i++;
      }
      this.hold(q, i, sent);
      return ok;
    }
    if (run.length > 0) writeRun(sent);
    else sent?.();
    return ok;
  }

  private count(c: ReplyPart): void {
    if (c instanceof FileSlice) {
      this.bytes += c.size;
      this.hasFile = true;
    } else {
      this.bytes += c.length;
      if (c.length >= COPY_LIMIT) this.hasLarge = true;
    }
  }

  /** Puts q[from...] back in front of the queue, and `sent` in front of the callbacks, until `resume`. */
  private hold(q: ReplyPart[], from: number, sent?: () => void): void {
    this.waiting = true;
    const rest = q.slice(from);
    for (const c of rest) this.count(c);
    this.queue = this.queue.length === 0 ? rest : rest.concat(this.queue);
    if (sent) this.sentCallbacks.unshift(sent);
  }

  /** A write that held slices waited for has completed: go on. */
  private resume = (): void => {
    this.waiting = false;
    if (!this.scheduled) this.flush();
  };

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
