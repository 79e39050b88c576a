// A long-lived stream (server-sent events) outlives the request that authorised it: the caller's token
// may be revoked, expire or lose its grants while the stream stays open. StreamWatch re-asks `allowed`
// before an event is written when the last answer is older than `everyMs` (0: before every event), and
// on a timer while the stream is idle, and ends the stream at the first "no". Checks never overlap.
//
// Thousands of streams may hold one token: the look-up of a credential is shared (SharedLookups, used by
// UiAuth.recheck), one per credential per `everyMs`, whichever stream asks. An answer is as old as the
// look-up it rests on (allowed reports when that began, asOf), so no stream trusts a verdict older than
// everyMs: the revocation latency is what it was with a look-up per stream.
import { performance } from 'node:perf_hooks';

export interface StreamWatchOptions {
  /** does the caller still hold its credential and right? (a throw counts as no); a shared look-up reports
   *  when it began (asOf, performance.now() time), which is when the answer was true */
  allowed(asOf: (startedAt: number) => void): Promise<boolean>;
  /** the longest an answer is trusted (ms); 0 asks before every event */
  everyMs: number;
  /** called once, when the answer turns to no */
  onLost(): void;
}

export class StreamWatch {
  private checkedAt = performance.now();
  private pending: Promise<boolean> | null = null;
  private lost = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly o: StreamWatchOptions) {
    this.timer = setInterval(() => void this.check(), Math.max(1000, o.everyMs));
    this.timer.unref();
  }

  /** True while the caller may still receive events; asks again when the last answer is stale. */
  async ok(): Promise<boolean> {
    if (this.lost) return false;
    if (performance.now() - this.checkedAt < this.o.everyMs) return true;
    return this.check();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): Promise<boolean> {
    if (this.lost) return Promise.resolve(false);
    if (this.pending) return this.pending;
    let at = performance.now();
    this.pending = this.o
      .allowed((t) => {
        at = Math.min(at, t);
      })
      .catch(() => false)
      .then((yes) => {
        this.pending = null;
        this.checkedAt = at;
        if (!yes && !this.lost) {
          this.lost = true;
          this.stop();
          this.o.onLost();
        }
        return yes;
      });
    return this.pending;
  }
}

/**
 * Look-ups shared by callers with the same key (a credential): a caller that accepts answers up to maxAgeMs
 * old gets the last look-up begun within that time (finished or still running), else starts one. maxAgeMs
 * 0: always a new one.
 */
export class SharedLookups<T> {
  private readonly last = new Map<string, { at: number; answer: Promise<T> }>();

  get(key: string, maxAgeMs: number, lookup: () => Promise<T>, asOf?: (startedAt: number) => void): Promise<T> {
    const now = performance.now();
    let e = this.last.get(key);
    if (!e || maxAgeMs <= 0 || now - e.at >= maxAgeMs) {
      if (this.last.size >= 1024) for (const [k, old] of this.last) if (now - old.at >= maxAgeMs) this.last.delete(k);
      e = { at: now, answer: lookup() };
      e.answer.catch(() => {}); // each caller sees the rejection; none is left unhandled
      this.last.set(key, e);
    }
    asOf?.(e.at);
    return e.answer;
  }
}

/** The watch of a stream (null without a recheck): when the answer turns to no, `stop` runs and the response
 *  ends with the revoked frame. */
export function watchStream(
  res: { end(chunk: string): unknown },
  recheck: Pick<StreamWatchOptions, 'allowed' | 'everyMs'> | undefined,
  stop: () => void,
): StreamWatch | null {
  return recheck
    ? new StreamWatch({
        ...recheck,
        onLost: () => {
          stop();
          res.end(revokedFrame());
        },
      })
    : null;
}

/** The frame that tells an event-stream client why the server ended its stream. */
export function revokedFrame(): string {
  const message = 'the credential this stream was opened with is no longer valid (revoked, expired, or its right was withdrawn)';
  return `event: revoked\ndata: ${JSON.stringify({ error: 'unauthenticated', message })}\n\n`;
}
