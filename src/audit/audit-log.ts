// The audit log: every mutation, appended with actor, time, action, target and result to an
// append-only, hash-chained log in the object store. Each entry names the hash of the one before it
// and its own hash covers its content, so editing, removing or reordering a past entry breaks the
// chain at that entry and verify() names it. Keys: audit/entries/<seq, 12 digits>-<hash>; the ref
// audit/head = {seq, hash, entry} moves by compare-and-swap, so daemons sharing a bucket append to one chain.
//
// One durable write per append: the head carries the newest entry itself, so the compare-and-swap that
// puts it on the chain also makes it durable (an acknowledged entry survives a crash right after). Its own
// object under audit/entries/ is written behind, and an append makes sure the entry the head carries has its
// object before the head moves past it (a writer that crashed before writing it, or another daemon's entry,
// is written then, from the head). So every entry below the head has its object, and the head's is in the
// head. (A head of the older form {seq, hash} names an entry whose object was written before it.)
// An append swaps on the version its own last swap left (casRefVersion) without reading the head first; a
// swap that loses because another writer moved the head since reads the head and goes again.
import { createHash } from 'node:crypto';
import type { ObjectBackend } from '../store/index.js';

export interface AuditInput {
  actor: string;
  action: string;
  /** what was acted on: "session:<id>", "project:<org/name>", "token:<id>", "user:<name>", "gc", ... */
  target: string;
  /** "ok", or "error: <code>" */
  result: string;
  /** small extra facts (the head landed, the right granted, ...) */
  detail?: Record<string, unknown>;
}

export interface AuditEntry extends AuditInput {
  seq: number;
  time: string;
  prev: string | null;
  hash: string;
}

interface HeadDoc {
  seq: number;
  hash: string;
  /** the entry itself (absent in heads written before entries were carried in the head) */
  entry?: AuditEntry;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  /** exact target, or a prefix ending in ":" or "*" */
  target?: string;
  since?: string;
  until?: string;
  limit?: number;
}

export interface AuditProblem {
  seq: number | null;
  key: string | null;
  problem: string;
}
export interface AuditVerification {
  ok: boolean;
  entries: number;
  head: HeadDoc | null;
  problems: AuditProblem[];
  /** entries off the chain: an append that lost a race to another daemon and was not cleaned up */
  orphans: string[];
}

const HEAD_KEY = 'audit/head';
const PREFIX = 'audit/entries/';
const entryKey = (seq: number, hash: string) => `${PREFIX}${String(seq).padStart(12, '0')}-${hash}`;
const entryBytes = (e: AuditEntry) => Buffer.from(JSON.stringify(e) + '\n', 'utf8');

/** The entry a head carries, if it is the one the head names (a head is checked like any entry). */
function carried(head: HeadDoc | null): AuditEntry | null {
  const e = head?.entry;
  return e && e.seq === head.seq && e.hash === head.hash ? e : null;
}

/** SHA-256 of the entry's content in a fixed field order (the hash field itself excluded). */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const canon = JSON.stringify([e.seq, e.time, e.prev, e.actor, e.action, e.target, e.result, e.detail ?? null]);
  return createHash('sha256').update(canon, 'utf8').digest('hex');
}

export class AuditLog {
  private tail: Promise<unknown> = Promise.resolve();
  /** entry objects this instance is writing behind (or wrote), by key */
  private readonly written = new Map<string, Promise<void>>();
  /** the head this instance's last swap put, and its version token (null: not known, or moved on) */
  private mine: { head: HeadDoc; version: string } | null = null;
  /** entry objects being written behind, until each write settles (drain waits for them) */
  private readonly behind = new Set<Promise<void>>();
  /** appends queued or under way */
  private appending = 0;

  constructor(private readonly backend: ObjectBackend) {}

  /** Appends one entry; resolves once it is durable and the head names it. */
  append(input: AuditInput): Promise<AuditEntry> {
    this.appending++;
    const run = this.tail
      .catch(() => {})
      .then(() => this.appendNow(input))
      .finally(() => this.appending--);
    this.tail = run;
    return run;
  }

  private async appendNow(input: AuditInput): Promise<AuditEntry> {
    for (let attempt = 0; ; attempt++) {
      // the head this instance put last, as the swap left it: no read of the head first (a round trip on S3);
      // if another writer moved it since, the swap loses and the next attempt reads it
      const known = attempt === 0 ? this.mine : null;
      let head: HeadDoc | null;
      let version: string | null;
      if (known) ({ head, version } = known);
      else {
        const ref = await this.backend.getRef(HEAD_KEY);
        head = ref ? (JSON.parse(ref.data.toString('utf8')) as HeadDoc) : null;
        version = ref?.version ?? null;
      }
      // the entry the head carries gets its own object before the head moves past it
      const last = carried(head);
      if (last) await this.writeEntry(last);
      const base = {
        seq: (head?.seq ?? 0) + 1,
        time: new Date().toISOString(),
        prev: head?.hash ?? null,
        actor: input.actor,
        action: input.action,
        target: input.target,
        result: input.result,
        ...(input.detail ? { detail: input.detail } : {}),
      };
      const entry: AuditEntry = { ...base, hash: entryHash(base) };
      const next: HeadDoc = { seq: entry.seq, hash: entry.hash, entry };
      this.mine = null; // until this swap's outcome is known
      const cas = await this.swap(Buffer.from(JSON.stringify(next)), version);
      if (cas.won) {
        this.mine = cas.version === null ? null : { head: next, version: cas.version };
        // behind: the next append waits for it, or writes it again; drain() waits for it at shutdown
        const w = this.writeEntry(entry).catch(() => {});
        this.behind.add(w);
        void w.finally(() => this.behind.delete(w));
        return entry;
      }
      if (known) continue; // only our view of the head was old: read it now, no back-off
      // another daemon appended first: go again on its head
      if (attempt > 100) throw new Error('audit log: too much contention');
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
    }
  }

  /**
   * Waits for the appends under way and the entry objects written behind them, at most `ms`: a stopping
   * daemon calls it so that no write of the log is cut off. Resolves false if something was still pending
   * at the bound (the head still carries the newest entry, so nothing acknowledged is lost either way).
   */
  async drain(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
    try {
      // appends queued while waiting (the last requests' own) are waited for too
      for (;;) {
        const tail = this.tail;
        const done = await Promise.race([Promise.allSettled([tail, ...this.behind]).then(() => true), bound]);
        if (!done) return false;
        if (this.tail === tail && this.behind.size === 0) return true;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Entry writes not yet settled (appends under way and entry objects written behind). */
  pending(): number {
    return this.behind.size + this.appending;
  }

  /** Compare-and-swap of the head, with its new version token where the backend tells it. */
  private async swap(data: Buffer, expect: string | null): Promise<{ won: boolean; version: string | null }> {
    const b = this.backend;
    if (b.casRefVersion) return b.casRefVersion(HEAD_KEY, data, expect);
    return { won: await b.casRef(HEAD_KEY, data, expect), version: null };
  }

  /** Writes an entry's own object (once per instance; a failed write is tried again next time). */
  private writeEntry(e: AuditEntry): Promise<void> {
    const key = entryKey(e.seq, e.hash);
    let w = this.written.get(key);
    if (!w) {
      w = this.backend.put(key, entryBytes(e));
      this.written.set(key, w);
      w.catch(() => this.written.delete(key));
      // only the newest is ever asked for again
      if (this.written.size > 16) this.written.delete(this.written.keys().next().value!);
    }
    return w;
  }

  private async head(): Promise<HeadDoc | null> {
    const ref = await this.backend.getRef(HEAD_KEY);
    return ref ? (JSON.parse(ref.data.toString('utf8')) as HeadDoc) : null;
  }

  /** Entries newest first, following the chain back from the head. */
  async *walk(): AsyncGenerator<AuditEntry> {
    const head = await this.head();
    const top = carried(head);
    let at: HeadDoc | null = head;
    while (at) {
      let e: AuditEntry;
      if (top && at === head) e = top;
      else {
        const raw = await this.backend.get(entryKey(at.seq, at.hash));
        if (!raw) throw new Error(`audit log: entry ${at.seq} is missing (run mic audit --verify)`);
        e = JSON.parse(raw.toString('utf8')) as AuditEntry;
      }
      yield e;
      at = e.prev ? { seq: at.seq - 1, hash: e.prev } : null;
    }
  }

  /** Entries matching the filters, newest first. */
  async query(q: AuditQuery = {}): Promise<AuditEntry[]> {
    const limit = Math.max(1, Math.min(q.limit ?? 100, 10_000));
    const out: AuditEntry[] = [];
    const targetMatch = (t: string) => {
      if (!q.target) return true;
      if (q.target.endsWith('*')) return t.startsWith(q.target.slice(0, -1));
      if (q.target.endsWith(':')) return t.startsWith(q.target);
      return t === q.target;
    };
    for await (const e of this.walk()) {
      if (q.since && e.time < q.since) break;
      if (q.until && e.time > q.until) continue;
      if (q.actor && e.actor !== q.actor) continue;
      if (q.action && e.action !== q.action && !(q.action.endsWith('*') && e.action.startsWith(q.action.slice(0, -1)))) continue;
      if (!targetMatch(e.target)) continue;
      out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Checks the whole chain: every entry's hash, every link, no gap from the head down to entry 1. */
  async verify(): Promise<AuditVerification> {
    const problems: AuditProblem[] = [];
    const head = await this.head();
    const keys = new Map<string, string>();
    for await (const o of this.backend.list(PREFIX)) keys.set(o.key.slice(PREFIX.length), o.key);
    const top = carried(head);
    let entries = 0;
    let at: HeadDoc | null = head;
    while (at) {
      const name = `${String(at.seq).padStart(12, '0')}-${at.hash}`;
      const found = keys.get(name);
      // the head's entry is in the head until its own object is written (see the top of this file)
      const key = found ?? (top && at === head ? HEAD_KEY : undefined);
      if (!key) {
        problems.push({ seq: at.seq, key: null, problem: `entry ${at.seq} (${at.hash.slice(0, 12)}) is missing` });
        break;
      }
      keys.delete(name);
      let e: AuditEntry;
      try {
        e = found ? (JSON.parse((await this.backend.get(found))!.toString('utf8')) as AuditEntry) : top!;
      } catch {
        problems.push({ seq: at.seq, key, problem: 'entry is not valid JSON' });
        break;
      }
      entries++;
      const { hash, ...rest } = e;
      const recomputed = entryHash(rest);
      if (recomputed !== at.hash || hash !== at.hash)
        problems.push({
          seq: at.seq,
          key,
          problem: `entry ${at.seq} was changed: its content hashes to ${recomputed.slice(0, 12)}, the chain names ${at.hash.slice(0, 12)}`,
        });
      if (e.seq !== at.seq) problems.push({ seq: at.seq, key, problem: `entry at position ${at.seq} says seq ${e.seq}` });
      if (at.seq === 1 && e.prev !== null) problems.push({ seq: 1, key, problem: 'the first entry names a predecessor' });
      if (at.seq > 1 && !e.prev) {
        problems.push({ seq: at.seq, key, problem: `entry ${at.seq} names no predecessor` });
        break;
      }
      at = e.prev ? { seq: at.seq - 1, hash: e.prev } : null;
      if (at && at.seq < 1) {
        problems.push({ seq: e.seq, key, problem: 'the chain goes below entry 1' });
        break;
      }
    }
    return { ok: problems.length === 0, entries, head, problems, orphans: [...keys.values()] };
  }
}
