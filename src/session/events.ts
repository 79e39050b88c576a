// Change notifications inside one daemon: a session's record was written (status, conversation,
// decisions, landing, rebase: anything Catalog.update/put saves) or its files changed (NFS writes and
// files applied through the API, reported by the session's filesystem). Listeners run synchronously and
// must be cheap; consumers that do real work (server-sent events, an /api/events stream) coalesce.
// With no listener, emit costs one Set size check: the NFS write path calls it on every change.
import type { SessionStatus } from './record.js';

export type SessionEvent =
  /** the session's record was saved */
  | { type: 'session'; session: string; project: string; status: SessionStatus; landed_head: string | null; time: string }
  /** the session's files changed (through its mount or the API) */
  | { type: 'files'; session: string; time: string };

export type SessionEventListener = (e: SessionEvent) => void;

export class SessionEvents {
  private readonly listeners = new Set<SessionEventListener>();

  /** Adds a listener; returns the function that removes it. */
  on(listener: SessionEventListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  get listenerCount(): number { return this.listeners.size; }

  emit(e: SessionEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch { /* a listener's fault is its own: the writer that emitted must not fail */ }
    }
  }

  /** emit a 'files' event, building it only when someone listens (the NFS write path calls this). */
  filesChanged(session: string): void {
    if (this.listeners.size) this.emit({ type: 'files', session, time: new Date().toISOString() });
  }
}
