// What happened, for other programs to react to (seed 004's hooks and events): session.created,
// session.state_changed, session.landed, session.changed, session.mounted, session.unmounted, artifact.stored,
// artifact.deleted, head.moved.
// Ids increase across restarts (they start from the clock at boot), and the last events are kept in
// RAM, so a client that reconnects with Last-Event-ID gets what it missed while it was away.

export const EVENT_TYPES = [
  'session.created',
  'session.state_changed',
  'session.landed',
  'session.changed',
  'session.updated',
  'session.mounted',
  'session.unmounted',
  'artifact.stored',
  'artifact.deleted',
  'head.moved',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface MicEvent {
  /** decimal, increasing */
  id: string;
  type: EventType;
  time: string;
  project: string | null;
  session_id: string | null;
  actor: string | null;
  data: Record<string, unknown>;
}

export interface EventFilter {
  project?: string;
  types?: readonly string[];
  session?: string;
}

export function matches(e: MicEvent, f: EventFilter): boolean {
  if (f.project && e.project !== f.project) return false;
  if (f.session && e.session_id !== f.session) return false;
  if (f.types?.length && !f.types.some((t) => t === e.type || (t.endsWith('.*') && e.type.startsWith(t.slice(0, -1))))) return false;
  return true;
}

export type Listener = (e: MicEvent) => void;

export class EventBus {
  private seq: bigint;
  private readonly ring: MicEvent[] = [];
  private readonly listeners = new Set<Listener>();

  constructor(private readonly keep = 10_000) {
    this.seq = BigInt(Date.now()) * 1000n;
  }

  publish(
    type: EventType,
    o: { project?: string | null; session?: string | null; actor?: string | null; data?: Record<string, unknown> },
  ): MicEvent {
    this.seq += 1n;
    const e: MicEvent = {
      id: this.seq.toString(),
      type,
      time: new Date().toISOString(),
      project: o.project ?? null,
      session_id: o.session ?? null,
      actor: o.actor ?? null,
      data: o.data ?? {},
    };
    this.ring.push(e);
    if (this.ring.length > this.keep) this.ring.splice(0, this.ring.length - this.keep);
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        /* a listener's failure is its own */
      }
    }
    return e;
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Kept events after `lastId` (all kept ones when it is older than the oldest), and whether some
   *  were lost (the id is older than what is kept). */
  since(lastId: string | undefined, f: EventFilter = {}): { events: MicEvent[]; gap: boolean } {
    if (lastId === undefined || !/^\d{1,30}$/.test(lastId)) return { events: [], gap: false };
    const last = BigInt(lastId);
    const events = this.ring.filter((e) => BigInt(e.id) > last && matches(e, f));
    const oldest = this.ring[0];
    return { events, gap: oldest !== undefined && BigInt(oldest.id) > last + 1n };
  }
}
