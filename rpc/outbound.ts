// Coalesces the records written during one event-loop turn into as few socket writes as
// possible. Small buffers are copied into one; large ones (file data) go by reference; bytes of a
// file (FileSlice) go by sendfile(2) when nothing is queued in front of them (file-slice.ts).
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FileSlice, releaseAll, sendfileAddon, type ReplyPart } from './file-slice.js';

/** Buffers at least this big are written by reference instead of being copied. */
const COPY_LIMIT = 16 * 1024;
const EMPTY = Buffer.alloc(0);

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
      if (c instanceof FileSlice) {
        this.bytes += c.size;
        this.hasFile = true;
      } else {
        this.bytes += c.length;
        if (c.length >= COPY_LIMIT) this.hasLarge = true;
      }
    }
    this.schedule();
  }

  /** Writes everything queued now. */
  flush = (): void => {
    this.scheduled = false;
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
   * A flush with bytes of files in it. Each slice whose turn comes while nothing is waiting in Node's or libuv's
   * write queue goes to the kernel directly: the small buffers before it as its head (send with MSG_MORE), then
   * sendfile. Whatever the kernel does not take at once (a full socket buffer: EAGAIN), and everything after it,
   * goes through the ordinary socket writes, in order, the slices read into buffers; so do slices when the
   * addon is missing or the socket has no fd of its own (TLS).
   */
  private writeWithFiles(q: ReplyPart[], sent?: () => void): boolean {
    const s = this.socket;
    const addon = sendfileAddon();
    let direct = addon !== null && (s as { encrypted?: boolean }).encrypted !== true;
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
      if (direct) {
        // large buffers are not copied into a head: write them first (usually at once, leaving nothing queued)
        if (run.some((b) => b.length >= COPY_LIMIT)) writeRun();
        const fd = socketFd(s);
        if (fd >= 0 && s.writableLength === 0) {
          const head = run.length === 0 ? EMPTY : run.length === 1 ? run[0] : Buffer.concat(run);
          run = [];
          const n = addon!.send(fd, head, p.fd, p.offset, p.length, p.pad);
          if (n === head.length + p.size) {
            p.release();
            continue;
          }
          // the kernel took part (or an error, which the ordinary write reports): the rest goes behind it
          direct = false;
          const took = Math.max(0, n);
          if (this.log?.isLevelEnabled('debug')) {
            this.log.debug({ sent: n, head: head.length, file: p.size }, 'rpc: sendfile partial, the rest by write');
          }
          if (took < head.length) run.push(took === 0 ? head : head.subarray(took));
          run.push(p.read(Math.max(0, took - head.length)));
          continue;
        }
        direct = false;
      }
      run.push(p.read());
    }
    if (run.length > 0) writeRun(sent);
    else sent?.();
    return ok;
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
