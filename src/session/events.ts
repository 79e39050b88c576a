// Change notifications inside one daemon: a session's record was written (status, conversation,
// decisions, landing, rebase: anything Catalog.update/put saves), its files changed (through its mount
// or the API), or a client mounted or unmounted it. Listeners run synchronously and must be cheap; consumers that do real work (server-sent
// events, an /api/events stream) coalesce.
//
// File changes are seen through the change counter every served session filesystem keeps (the one the
// background sealer reads): while anyone listens, a filesystem's next change calls the watcher, which
// compares the counters WATCH_MS later (the changes in between are one event) and asks again. No timer
// runs while nothing changes, and nothing at all when nobody listens.
import type { SessionStatus } from './record.js';

export type SessionEvent =
  /** the session's record was saved */
  | { type: 'session'; session: string; project: string; status: SessionStatus; landed_head: string | null; time: string }
  /** the session's files changed (through its mount or the API) */
  | { type: 'files'; session: string; time: string }
  /** a client mounted or unmounted the session's export (path: what it mounted, the export or a directory in it) */
  | {
      type: 'mount';
      session: string;
      project: string;
      action: 'mounted' | 'unmounted';
      client: string;
      path: string;
      time: string;
      /** unmounted: umnt, umntall, or gone (exports.ts: its connections closed and it did not come back) */
      reason?: 'umnt' | 'umntall' | 'gone';
    };

export type SessionEventListener = (e: SessionEvent) => void;

/** What serves session filesystems: their ids and change counters (SessionExports). */
export interface GenerationSource {
  servedIds(): string[];
  /** onNextChange: calls fn once on the filesystem's next change (SessionState). A filesystem without it is
   *  looked at every WATCH_MS while anyone listens. */
  served(id: string): { generation: number; onNextChange?(fn: () => void): void } | undefined;
}

/** How long after a change the counters are compared: changes within it are one event. */
export const WATCH_MS = 100;

export class SessionEvents {
  private readonly listeners = new Set<SessionEventListener>();
  private readonly sources = new Set<GenerationSource>();
  private readonly seen = new Map<string, number>();
  /** sessions whose files the API is changing right now: their changes are that call's, not the mount's */
  private readonly quiet = new Map<string, number>();
  /** someone listens and something serves filesystems: changes are reported */
  private watching = false;
  /** the look WATCH_MS after a change */
  private timer: NodeJS.Timeout | null = null;
  private readonly wake = (): void => {
    if (!this.watching || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.watching) this.poll(true);
    }, WATCH_MS);
    this.timer.unref();
  };

  /** Adds a listener; returns the function that removes it. */
  on(listener: SessionEventListener): () => void {
    this.listeners.add(listener);
    this.startWatching();
    return () => {
      this.listeners.delete(listener);
      if (!this.listeners.size) this.stopWatching();
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  emit(e: SessionEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        /* a listener's fault is its own: the writer that emitted must not fail */
      }
    }
  }

  /** Report file changes of the sessions a source serves. Returns the function that stops it. */
  watchFiles(source: GenerationSource): () => void {
    this.sources.add(source);
    if (this.listeners.size) this.startWatching();
    return () => {
      this.sources.delete(source);
      if (!this.sources.size) this.stopWatching();
    };
  }

  /** A source serves a filesystem it did not (opened, or opened anew by a rebase): it is looked at (and
   *  watched from then on) WATCH_MS later. */
  opened(): void {
    this.wake();
  }

  /** Runs fn, an API change of the session's files: what it changes is not reported as a file change
   *  (the API reports its own), however long it takes. */
  async during<T>(id: string, fn: () => Promise<T>): Promise<T> {
    this.quiet.set(id, (this.quiet.get(id) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const n = this.quiet.get(id)! - 1;
      if (n) this.quiet.set(id, n);
      else {
        this.quiet.delete(id);
        for (const src of this.sources) {
          const g = src.served(id)?.generation;
          if (g !== undefined && this.watching) this.seen.set(id, g);
        }
      }
    }
  }

  // No timer runs while nothing changes: each served filesystem calls wake() on its next change
  // (onNextChange), and the look WATCH_MS later reports what changed and asks again. An idle daemon is not
  // woken (test/api/idle-wakeups.test.ts); NFS WRITEs cost a null check.
  private startWatching(): void {
    if (this.watching || !this.sources.size) return;
    this.watching = true;
    this.seen.clear();
    this.poll(false);
  }

  private stopWatching(): void {
    this.watching = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private poll(report: boolean): void {
    const live = new Set<string>();
    for (const src of this.sources) {
      for (const id of src.servedIds()) {
        const fs = src.served(id);
        if (fs === undefined) continue;
        // asked before the counter is read: a change from here on wakes the watcher again
        if (fs.onNextChange) fs.onNextChange(this.wake);
        else this.wake();
        const g = fs.generation;
        live.add(id);
        if (this.quiet.has(id)) continue; // see during()
        const before = this.seen.get(id);
        this.seen.set(id, g);
        // a filesystem opened since the last look starts at 0: anything above is a change
        if (report && before !== g && (before !== undefined || g > 0))
          this.emit({ type: 'files', session: id, time: new Date().toISOString() });
      }
    }
    for (const k of this.seen.keys()) if (!live.has(k)) this.seen.delete(k);
  }
}
