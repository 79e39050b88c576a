// Duplicate-request cache. RPC gives at-most-once semantics only if the server remembers
// replies (RFC 5531 §8: "the xid ... is used by the server to detect retransmissions").
// Only non-idempotent procedures go through it.
import { crc32 } from 'node:zlib';
import { performance } from 'node:perf_hooks';

export interface DrcOptions {
  /** most entries kept (default 8192) */
  maxEntries?: number;
  /** entries older than this are forgotten (default 120 s) */
  maxAgeMs?: number;
}

/** How much of the arguments the checksum covers; the full length is part of the key too. */
const CHECKSUM_BYTES = 256;

export interface DrcEntry {
  /** 'in-progress': the original is still running; 'done': `reply` holds the framed reply */
  state: 'in-progress' | 'done';
  reply: Buffer | null;
  readonly at: number;
}

/**
 * Entries live in a Map for lookup and in a queue in insertion order, which is also age order:
 * expiry and eviction by count pop the queue's front, O(1) per call. (The Map itself is never
 * iterated: V8 keeps a deleted Map entry as a hole until the table is rebuilt, so walking a Map
 * from the front after many deletions there skips thousands of holes, which cost ~50 µs per call
 * at 8192 entries.)
 */
export class DuplicateRequestCache {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  private entries = new Map<string, DrcEntry>();
  /** keys and entries in insertion order from `head` on; an item whose key now maps elsewhere is stale */
  private queueKeys: (string | undefined)[] = [];
  private queueEntries: (DrcEntry | undefined)[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: DrcOptions = {}) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? 8192);
    this.maxAgeMs = opts.maxAgeMs ?? 120_000;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Key = client address (not port: Linux may reconnect from a new port and retransmit)
   * + xid + prog/vers/proc + argument length + crc32 of the first 256 argument bytes.
   */
  key(address: string, xid: number, prog: number, vers: number, proc: number, rec: Buffer, argsStart: number): string {
    const len = rec.length - argsStart;
    const sum = crc32(rec.subarray(argsStart, argsStart + Math.min(len, CHECKSUM_BYTES)));
    return `${address}|${xid}|${prog}|${vers}|${proc}|${len}|${sum}`;
  }

  /**
   * Looks the call up. Returns null for a new call (now recorded as in progress), or the
   * existing entry: in progress (drop the retransmission) or done (resend `reply`).
   */
  begin(key: string): DrcEntry | null {
    const now = performance.now();
    const found = this.entries.get(key);
    if (found !== undefined) {
      if (now - found.at <= this.maxAgeMs) return found;
      this.entries.delete(key);
    }
    this.pruneExpired(now);
    // the queue also holds stale items (abandoned calls): it is kept within twice the bound too
    while (
      this.head < this.queueEntries.length &&
      (this.entries.size >= this.maxEntries || this.queueEntries.length - this.head >= 2 * this.maxEntries)
    )
      this.dropOldest();
    const e: DrcEntry = { state: 'in-progress', reply: null, at: now };
    this.entries.set(key, e);
    this.queueKeys.push(key);
    this.queueEntries.push(e);
    return null;
  }

  /** Records the reply (record mark included) of a call begun with `begin`; a no-op if it was evicted. */
  finish(key: string, reply: Buffer): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    e.state = 'done';
    e.reply = reply;
  }

  /** Forgets a call whose handler produced no reply, so a retransmission runs it again. */
  abandon(key: string): void {
    const e = this.entries.get(key);
    if (e !== undefined && e.state === 'in-progress') this.entries.delete(key);
  }

  /** Drops expired entries from the front (oldest first); stops at the first fresh one. */
  pruneExpired(now = performance.now()): void {
    const limit = now - this.maxAgeMs;
    while (this.head < this.queueEntries.length && this.queueEntries[this.head]!.at < limit) this.dropOldest();
  }

  /** Prunes every `intervalMs` so an idle cache empties too; the timer does not keep the process alive. */
  startTimer(intervalMs = Math.max(1000, Math.floor(this.maxAgeMs / 4))): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.pruneExpired(), intervalMs);
    this.timer.unref();
  }

  stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  clear(): void {
    this.entries.clear();
    this.queueKeys = [];
    this.queueEntries = [];
    this.head = 0;
  }

  /** Pops the queue's front, forgetting its entry unless the key was reused since (abandoned, then begun again). */
  private dropOldest(): void {
    const i = this.head;
    if (i >= this.queueEntries.length) return;
    const k = this.queueKeys[i]!;
    const e = this.queueEntries[i];
    this.queueKeys[i] = undefined;
    this.queueEntries[i] = undefined;
    this.head = i + 1;
    if (this.entries.get(k) === e) this.entries.delete(k);
    if (this.head === this.queueEntries.length) {
      this.queueKeys = [];
      this.queueEntries = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.queueEntries.length) {
      this.queueKeys = this.queueKeys.slice(this.head);
      this.queueEntries = this.queueEntries.slice(this.head);
      this.head = 0;
    }
  }
}
