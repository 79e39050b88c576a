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
 * Entries live in a Map in insertion order, which is also age order, so expiry only looks
 * at the front and eviction by count drops the first key: amortised O(1) per call, never a
 * scan of the whole cache.
 */
export class DuplicateRequestCache {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  private entries = new Map<string, DrcEntry>();
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
    if (this.entries.size >= this.maxEntries) this.evictOldest(this.entries.size - this.maxEntries + 1);
    this.entries.set(key, { state: 'in-progress', reply: null, at: now });
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
    for (const [k, e] of this.entries) {
      if (e.at >= limit) break;
      this.entries.delete(k);
    }
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
  }

  private evictOldest(n: number): void {
    for (const k of this.entries.keys()) {
      if (n-- <= 0) break;
      this.entries.delete(k);
    }
  }
}
