// Leases on the holder refs of sessions (ownership.ts). The holder writes { expires } into its ref when it
// claims a session and renews it (compare-and-swap against the version it wrote last) every quarter lease;
// another daemon may take over a session whose lease has expired, raising the ref's generation.
// Fencing: the holder trusts its lease only until a quarter lease before `expires` by its own clock
// (LeaseTable.valid, a synchronous check); past that, it refuses to serve or to write the session's shared
// state (NFS calls answer JUKEBOX, landing and recording refuse) until a renewal succeeds, and a renewal
// fails once another daemon has taken the ref, since its version has changed. A holder that was stopped
// (SIGSTOP, a long GC pause, a suspended VM) therefore finds its lease lapsed on waking, before it can
// write anything, and learns on renewing that it has lost the session.
export const DEFAULT_LEASE_MS = 60_000;

/** The lease duration: MIC_LEASE_MS, or 60 s. */
export function leaseMs(): number {
  const v = process.env.MIC_LEASE_MS;
  if (v === undefined || v === '') return DEFAULT_LEASE_MS;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 100) throw new Error(`MIC_LEASE_MS: not a number of milliseconds >= 100: ${v}`);
  return n;
}

/** What this node knows of a lease it holds. */
export interface HeldLease {
  /** the holder ref's backend key */
  key: string;
  /** the ref's version as this node last wrote it (a renewal expects it) */
  version: string;
  generation: number;
  /** this node's clock: the lease is trusted until then */
  validUntil: number;
}

export class LeaseTable {
  private readonly held = new Map<string, HeldLease>();

  /** ms: the lease; Infinity for a holder that never renews (the CLI): its refs carry no expiry. */
  constructor(readonly ms = leaseMs()) {}

  /** `expires` to write into a ref written at `start` (ms); null: none. */
  expiresAt(start: number): number | null {
    return Number.isFinite(this.ms) ? start + this.ms : null;
  }

  set(id: string, key: string, version: string, generation: number, start: number): void {
    const validUntil = Number.isFinite(this.ms) ? start + this.ms - Math.floor(this.ms / 4) : Infinity;
    this.held.set(id, { key, version, generation, validUntil });
  }

  get(id: string): HeldLease | undefined {
    return this.held.get(id);
  }

  drop(id: string): void {
    this.held.delete(id);
  }

  ids(): string[] {
    return [...this.held.keys()];
  }

  /** Synchronous: may this node act as the session's holder right now? */
  valid(id: string, now = Date.now()): boolean {
    const l = this.held.get(id);
    return l !== undefined && now < l.validUntil;
  }
}

/** Has a lease written as `expires` (ISO time) run out? A ref without one (written before leases) never does. */
export function expired(expires: string | undefined, now = Date.now()): boolean {
  if (!expires) return false;
  const t = Date.parse(expires);
  return Number.isFinite(t) && now > t;
}
