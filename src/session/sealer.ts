// The daemon's background sealer: keeps sessions/<id>/tree.json current, so that another daemon can take
// a session over with little lost should this one die, and handoff has little left to do.
// A session whose filesystem changed (SessionState.generation moved) is sealed `delayMs` after its last
// change, at most once per `delayMs`, and at the latest 10 x `delayMs` after its first unsealed change
// while changes keep coming. Idle sessions cost nothing but a counter read per tick.
import type { Logger } from 'pino';
import type { SessionState } from '../core/session-state.js';

export interface SealerTarget {
  servedIds(): string[];
  served(id: string): SessionState | undefined;
}

interface State {
  gen: number;
  changedAt: number;
  dirtySince: number | null;
  sealedGen: number;
  sealedAt: number;
}

export class BackgroundSealer {
  private readonly state = new WeakMap<SessionState, State>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly o: {
      target: SealerTarget;
      seal: (id: string) => Promise<boolean>;
      delayMs: number;
      log: Logger;
      now?: () => number;
    },
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.running = this.tick().finally(() => {
          this.running = null;
          this.schedule();
        });
      },
      Math.max(100, Math.min(1000, this.o.delayMs / 2)),
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over the served sessions (exposed for tests). */
  async tick(): Promise<void> {
    const now = this.o.now ?? Date.now;
    for (const id of this.o.target.servedIds()) {
      if (this.stopped) return;
      const fs = this.o.target.served(id);
      if (!fs) continue;
      const t = now();
      let st = this.state.get(fs);
      if (!st) {
        // changes recovered from the journal at open may not be in tree.json yet
        const dirty = fs.changedInodes().length > 0;
        st = { gen: fs.generation, changedAt: t, dirtySince: dirty ? t : null, sealedGen: dirty ? -1 : fs.generation, sealedAt: 0 };
        this.state.set(fs, st);
      }
      if (fs.generation !== st.gen) {
        st.gen = fs.generation;
        st.changedAt = t;
        st.dirtySince ??= t;
      }
      if (st.gen === st.sealedGen || t - st.sealedAt < this.o.delayMs) continue;
      if (t - st.changedAt < this.o.delayMs && t - (st.dirtySince ?? t) < 10 * this.o.delayMs) continue;
      const gen = st.gen;
      try {
        if (await this.o.seal(id)) this.o.log.debug({ session: id, generation: gen }, 'session sealed in the background');
        st.sealedGen = gen;
        st.sealedAt = now();
        st.dirtySince = fs.generation === gen ? null : st.sealedAt;
      } catch (e) {
        st.sealedAt = now(); // retried after delayMs
        this.o.log.warn({ session: id, err: (e as Error).message }, 'background seal failed');
      }
    }
  }
}
