// Which data directory serves a live session. projects/<p>/sessions/<id>/holder is a ref moved only by
// compare-and-swap: { holder: <node id>, generation, expires } while a daemon (or the CLI on that data dir)
// holds it, { holder: null } once handed off. A data dir's node id is <dataDir>/node-id, created on first use.
// The holder renews its lease (lease.ts); once it has expired another daemon may take the session over,
// raising the generation, and the old holder's renewals then fail (fencing).
// A release (handoff) that fails (the store away, a write error) is retried in the background until it is
// done, or until this node takes the session back (releaseLater): the session must not stay held by a
// node that no longer serves it, which another daemon could only take with --force (or, with a lease, once it
// ran out; the CLI's never does). While it is pending the session counts as handed off here: only a take
// (a mount, mic session serve) gets it back, after the attempt under way has settled, and with a new
// generation, as a take of a released session would (so the record's handed_off event, which names the
// generation it released, no longer reads as a handoff a crash cut short: handoff.ts handoffPending).
import type { Logger } from 'pino';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readOrCreatePrivate } from '../util/private-file.js';
import type { Catalog } from './catalog.js';
import type { SessionRecord } from './record.js';
import { DomainError, InvalidStateError } from './errors.js';
import { LeaseTable, expired } from './lease.js';

/** How an open may claim the session: mine (already held here), use (also a never-held one),
 *  take (also a handed-off one), force (also one held elsewhere). */
export type OpenMode = 'mine' | 'use' | 'take' | 'force';

export interface HolderDoc {
  holder: string | null;
  since: string;
  nonce: string;
  by?: string;
  tree?: string;
  /** raised each time another node takes the session (fencing token) */
  generation?: number;
  /** the holder's lease runs out then (ISO time) unless renewed */
  expires?: string;
}

/** Where the session came from when it was claimed: new (never held), mine, released (handed off), forced. */
export type Claimed = 'new' | 'mine' | 'released' | 'forced';

/** A node id as nodeId() writes it: host name, a dash, 8 hex digits. */
const NODE_ID = /^[A-Za-z0-9.-]*-[0-9a-f]{8}$/;

/** This data directory's node id; created once (atomically: a torn file is replaced, never used). */
export function nodeId(dataDir: string): string {
  const file = path.join(dataDir, 'node-id');
  const make = (): Buffer => Buffer.from(`${os.hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'node'}-${randomBytes(4).toString('hex')}\n`);
  return readOrCreatePrivate(file, (b) => NODE_ID.test(b.toString('utf8').trim()), make)
    .toString('utf8')
    .trim();
}

interface PendingRelease {
  timer: NodeJS.Timeout | null;
  cancelled: boolean;
  /** the attempt under way (its write may land after a cancel: a take waits for it) */
  attempt: Promise<unknown> | null;
}

/** Pauses between retries of a failed release (ms): doubling from the first, at most the last. */
export const RELEASE_RETRY_MS = [250, 10_000] as const;

export class Ownership {
  readonly leases: LeaseTable;
  /** releases that failed, retried until done (releaseLater) */
  private readonly pendingReleases = new Map<string, PendingRelease>();

  constructor(
    private readonly catalog: Catalog,
    readonly node: string,
    leases = new LeaseTable(),
  ) {
    this.leases = leases;
  }

  private key(r: Pick<SessionRecord, 'project' | 'session_id'>): string {
    return this.catalog.store(r.project).key(`sessions/${r.session_id}/holder`);
  }

  async read(r: Pick<SessionRecord, 'project' | 'session_id'>): Promise<{ doc: HolderDoc; version: string } | null> {
    return this.readKey(this.key(r));
  }

  private async readKey(key: string): Promise<{ doc: HolderDoc; version: string } | null> {
    const got = await this.catalog.backend.getRef(key);
    return got ? { doc: JSON.parse(got.data.toString('utf8')) as HolderDoc, version: got.version } : null;
  }

  /** CAS of the ref; with a holder, also takes (or renews) the lease and learns the version it wrote. */
  private async writeKey(
    id: string,
    key: string,
    doc: Omit<HolderDoc, 'since' | 'nonce' | 'expires'>,
    expect: string | null,
  ): Promise<boolean> {
    const start = Date.now();
    const until = doc.holder ? this.leases.expiresAt(start) : null;
    const body: HolderDoc = {
      ...doc,
      since: new Date(start).toISOString(),
      nonce: randomBytes(8).toString('hex'),
      ...(until !== null ? { expires: new Date(until).toISOString() } : {}),
    };
    if (!(await this.catalog.backend.casRef(key, Buffer.from(JSON.stringify(body)), expect))) return false;
    if (doc.holder !== this.node) {
      this.leases.drop(id);
      return true;
    }
    const now = await this.readKey(key);
    if (!now || now.doc.nonce !== body.nonce) {
      // taken already (only if our lease was shorter than the wait)
      this.leases.drop(id);
      return false;
    }
    this.leases.set(id, key, now.version, body.generation ?? 0, start);
    return true;
  }

  private write(r: SessionRecord, doc: Omit<HolderDoc, 'since' | 'nonce' | 'expires'>, expect: string | null): Promise<boolean> {
    return this.writeKey(r.session_id, this.key(r), doc, expect);
  }

  /** Claims the session for this node as far as `mode` allows; 409 otherwise. A holder whose lease has
   *  expired counts as gone: any mode but mine takes the session over from it. */
  async claim(r: SessionRecord, mode: OpenMode): Promise<Claimed> {
    // handed off from here, its release still being retried: handed off as far as anyone can tell
    let takeBack = false;
    const pending = this.pendingReleases.get(r.session_id);
    if (pending) {
      if (mode !== 'take' && mode !== 'force') throw handedOff(r);
      this.cancelRelease(r.session_id);
      await pending.attempt?.catch(() => {}); // released meanwhile, or not: the ref says which
      takeBack = true;
    }
    for (let i = 0; i < 10; i++) {
      const cur = await this.read(r);
      const gen = cur?.doc.generation ?? 0;
      if (cur?.doc.holder === this.node && takeBack) {
        // taken back before its release happened: as a take of the released session, a new generation
        if (await this.write(r, { holder: this.node, generation: gen + 1 }, cur.version)) return 'released';
        continue;
      }
      if (cur?.doc.holder === this.node) {
        const mine = this.leases.get(r.session_id);
        if (mine && mine.version === cur.version && mine.generation === gen && this.leases.valid(r.session_id)) return 'mine';
        // held here before a restart (or the lease lapsed): renew it from the ref as it stands
        if (await this.write(r, { holder: this.node, generation: gen }, cur.version)) return 'mine';
        continue;
      }
      let from: Claimed;
      if (!cur) {
        if (mode === 'mine') throw notHeld(r, null);
        from = 'new';
      } else if (cur.doc.holder === null) {
        if (mode !== 'take' && mode !== 'force') throw handedOff(r);
        from = 'released';
      } else {
        if (mode !== 'force' && !(mode !== 'mine' && expired(cur.doc.expires))) throw servedElsewhere(r, cur.doc.holder);
        from = 'forced';
      }
      if (await this.write(r, { holder: this.node, generation: cur ? gen + 1 : 0 }, cur?.version ?? null)) return from;
    }
    throw new Error(`session ${r.session_id}: its holder ref kept changing`);
  }

  /** Renews this node's lease on a session; false (and the lease forgotten) once another node has the ref. */
  async renew(id: string): Promise<boolean> {
    const l = this.leases.get(id);
    if (!l) return false;
    if (await this.writeKey(id, l.key, { holder: this.node, generation: l.generation }, l.version)) return true;
    const cur = await this.readKey(l.key);
    if (cur?.doc.holder === this.node && (cur.doc.generation ?? 0) === l.generation) {
      // ours still (our own earlier write whose answer was lost): take it from here
      return this.writeKey(id, l.key, { holder: this.node, generation: l.generation }, cur.version);
    }
    this.leases.drop(id);
    return false;
  }

  /** Throws 409 unless this node holds the session: the ref names it at the generation it claimed, and its
   *  lease is valid (renewed first if it has lapsed). early: read(r) as the caller began it, under the
   *  session's lock (one that failed or found nothing is read again). */
  async check(r: SessionRecord, early?: ReturnType<Ownership['read']>): Promise<void> {
    const pre = early && (await early.catch(() => null));
    // held here, as read early, with our lease: done; anything else is decided on a fresh read
    if (pre && (await this.heldWithLease(r, pre))) return;
    const cur = await this.read(r);
    const l = this.leases.get(r.session_id);
    if (cur?.doc.holder === this.node && l && (cur.doc.generation ?? 0) === l.generation) {
      if (this.leases.valid(r.session_id) || (await this.renew(r.session_id))) return;
    } else if (cur?.doc.holder === this.node && !l) {
      // held here, no lease known (a restart, or the CLI on this data dir): claim it again
      await this.claim(r, 'mine');
      return;
    }
    const now = cur?.doc.holder === this.node ? await this.read(r) : cur;
    throw now?.doc.holder === null ? handedOff(r) : notHeld(r, now?.doc.holder === this.node ? null : (now?.doc.holder ?? null));
  }

  private async heldWithLease(r: SessionRecord, cur: { doc: HolderDoc }): Promise<boolean> {
    const l = this.leases.get(r.session_id);
    if (cur.doc.holder !== this.node || !l || (cur.doc.generation ?? 0) !== l.generation) return false;
    return this.leases.valid(r.session_id) || this.renew(r.session_id);
  }

  /** Synchronous fencing check: false once the lease may have run out (see lease.ts). */
  leaseValid(id: string): boolean {
    return this.leases.valid(id);
  }

  /** Hands the session off: nobody holds it; the next daemon starts from `tree` (its tree.json). */
  async release(r: SessionRecord, tree: string): Promise<void> {
    const cur = await this.read(r);
    if (
      cur?.doc.holder !== this.node ||
      !(await this.write(r, { holder: null, by: this.node, tree, generation: cur.doc.generation ?? 0 }, cur.version))
    ) {
      throw notHeld(r, cur?.doc.holder ?? null);
    }
  }

  /**
   * A release that failed: retried in the background (a pause doubling from RELEASE_RETRY_MS[0] to
   * RELEASE_RETRY_MS[1]) until it is done, until another node holds the session, or until this node takes it
   * back (claim with take or force; any other claim meanwhile is refused as handed off). A daemon that stops before then finds it at its next start (settleHandoffs).
   */
  releaseLater(r: SessionRecord, tree: string, log: Logger): void {
    const id = r.session_id;
    this.cancelRelease(id);
    const entry: PendingRelease = { timer: null, cancelled: false, attempt: null };
    this.pendingReleases.set(id, entry);
    const attempt = (pause: number): void => {
      entry.timer = setTimeout(() => {
        entry.timer = null;
        if (entry.cancelled) return;
        entry.attempt = this.release(r, tree);
        entry.attempt.then(
          () => {
            if (this.pendingReleases.get(id) === entry) this.pendingReleases.delete(id);
            log.info({ session: id }, 'holder released after a retry: the handoff is complete, another daemon can serve the session');
          },
          (e: unknown) => {
            if (entry.cancelled) return;
            if (e instanceof DomainError) {
              // not held here any more (taken with --force, or released by an earlier try whose answer was lost)
              this.pendingReleases.delete(id);
              log.warn({ session: id, err: e.message }, 'holder release given up: this node no longer holds the session');
              return;
            }
            log.warn({ session: id, err: e, retryInMs: pause }, 'holder release failed again; retrying');
            attempt(Math.min(pause * 2, RELEASE_RETRY_MS[1]));
          },
        );
      }, pause);
      entry.timer.unref();
    };
    attempt(RELEASE_RETRY_MS[0]);
  }

  /** Sessions whose release is being retried (releaseLater). */
  releasesPending(): string[] {
    return [...this.pendingReleases.keys()];
  }

  private cancelRelease(id: string): void {
    const e = this.pendingReleases.get(id);
    if (!e) return;
    e.cancelled = true;
    if (e.timer) clearTimeout(e.timer);
    this.pendingReleases.delete(id);
  }

  /** Stops the retries (the daemon stops; its next start settles what is left: settleHandoffs). */
  stopRetries(): void {
    for (const id of [...this.pendingReleases.keys()]) this.cancelRelease(id);
  }

  /** Who serves it: a node id, or null when handed off or never opened. */
  async holder(r: SessionRecord): Promise<string | null> {
    return (await this.read(r))?.doc.holder ?? null;
  }
}

export function handedOff(r: SessionRecord): InvalidStateError {
  return new InvalidStateError(
    `session ${r.session_id} was handed off; serve it here first (mic session serve ${r.session_id}, or mount its export)`,
    { code: 'handed_off' },
  );
}

export function servedElsewhere(r: SessionRecord, holder: string): InvalidStateError {
  return new InvalidStateError(
    `session ${r.session_id} is served by ${holder}; hand it off there first (mic session handoff ${r.session_id})`,
    { code: 'served_elsewhere' },
  );
}

function notHeld(r: SessionRecord, holder: string | null): InvalidStateError {
  return holder ? servedElsewhere(r, holder) : new InvalidStateError(`session ${r.session_id} is not served here`, { code: 'not_served' });
}
