// A long-lived stream (server-sent events) outlives the request that authorised it: the caller's token
// may be revoked, expire or lose its grants while the stream stays open. StreamWatch re-asks `allowed`
// before an event is written when the last answer is older than `everyMs` (0: before every event), and
// on a timer while the stream is idle, and ends the stream at the first "no". Checks never overlap.

export interface StreamWatchOptions {
  /** does the caller still hold its credential and right? (a throw counts as no) */
  allowed(): Promise<boolean>;
  /** the longest an answer is trusted (ms); 0 asks before every event */
  everyMs: number;
  /** called once, when the answer turns to no */
  onLost(): void;
}

export class StreamWatch {
  private checkedAt = Date.now();
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
    if (Date.now() - this.checkedAt < this.o.everyMs) return true;
    return this.check();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): Promise<boolean> {
    if (this.lost) return Promise.resolve(false);
    this.pending ??= this.o
      .allowed()
      .catch(() => false)
      .then((yes) => {
        this.pending = null;
        this.checkedAt = Date.now();
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

/** The frame that tells an event-stream client why the server ended its stream. */
export function revokedFrame(): string {
  const message = 'the credential this stream was opened with is no longer valid (revoked, expired, or its right was withdrawn)';
  return `event: revoked\ndata: ${JSON.stringify({ error: 'unauthenticated', message })}\n\n`;
}
