// The audit log: every mutation, appended with actor, time, action, target and result to an
// append-only, hash-chained log in the object store. Each entry names the hash of the one before it
// and its own hash covers its content, so editing, removing or reordering a past entry breaks the
// chain at that entry and verify() names it. Keys: audit/entries/<seq, 12 digits>-<hash>; the ref
// audit/head = {seq, hash} moves by compare-and-swap, so daemons sharing a bucket append to one chain.
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

/** SHA-256 of the entry's content in a fixed field order (the hash field itself excluded). */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const canon = JSON.stringify([e.seq, e.time, e.prev, e.actor, e.action, e.target, e.result, e.detail ?? null]);
  return createHash('sha256').update(canon, 'utf8').digest('hex');
}

export class AuditLog {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly backend: ObjectBackend) {}

  /** Appends one entry; resolves once it is durable and the head names it. */
  append(input: AuditInput): Promise<AuditEntry> {
    const run = this.tail.catch(() => {}).then(() => this.appendNow(input));
    this.tail = run;
    return run;
  }

  private async appendNow(input: AuditInput): Promise<AuditEntry> {
    for (let attempt = 0; ; attempt++) {
      const ref = await this.backend.getRef(HEAD_KEY);
      const head = ref ? (JSON.parse(ref.data.toString('utf8')) as HeadDoc) : null;
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
      const key = entryKey(entry.seq, entry.hash);
      await this.backend.put(key, Buffer.from(JSON.stringify(entry) + '\n', 'utf8'));
      const next: HeadDoc = { seq: entry.seq, hash: entry.hash };
      if (await this.backend.casRef(HEAD_KEY, Buffer.from(JSON.stringify(next)), ref?.version ?? null)) return entry;
      // another daemon appended first: this entry is off the chain; drop it and go again
      await this.backend.delete(key).catch(() => {});
      if (attempt > 100) throw new Error('audit log: too much contention');
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
    }
  }

  private async head(): Promise<HeadDoc | null> {
    const ref = await this.backend.getRef(HEAD_KEY);
    return ref ? (JSON.parse(ref.data.toString('utf8')) as HeadDoc) : null;
  }

  /** Entries newest first, following the chain back from the head. */
  async *walk(): AsyncGenerator<AuditEntry> {
    const head = await this.head();
    let at: HeadDoc | null = head;
    while (at) {
      const raw = await this.backend.get(entryKey(at.seq, at.hash));
      if (!raw) throw new Error(`audit log: entry ${at.seq} is missing (run mic audit --verify)`);
      const e = JSON.parse(raw.toString('utf8')) as AuditEntry;
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
    let entries = 0;
    let at: HeadDoc | null = head;
    while (at) {
      const name = `${String(at.seq).padStart(12, '0')}-${at.hash}`;
      const key = keys.get(name);
      if (!key) {
        problems.push({ seq: at.seq, key: null, problem: `entry ${at.seq} (${at.hash.slice(0, 12)}) is missing` });
        break;
      }
      keys.delete(name);
      let e: AuditEntry;
      try {
        e = JSON.parse((await this.backend.get(key))!.toString('utf8')) as AuditEntry;
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
