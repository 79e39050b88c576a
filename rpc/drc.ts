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
/** A reply up to this size is kept in the cache's own memory; a longer one (rare: none of NFSv3's) by reference. */
const SLOT_BYTES = 512;
/** Reply memory is allocated this many slots at a time, as the cache first fills. */
const PAGE_SLOTS = 256;

const EMPTY = 0;
const IN_PROGRESS = 1;
const DONE = 2;

/** A retransmission found in the cache. */
export interface DrcEntry {
  /** 'in-progress': the original is still running; 'done': `reply` holds the framed reply */
  state: 'in-progress' | 'done';
  reply: Buffer | null;
}

/**
 * The cache is a ring of `maxEntries` slots in typed arrays, filled in arrival order (which is also age
 * order), with hash chains over them for lookup; a new call takes the ring's next slot, evicting whatever
 * was there (the oldest). Replies are copied into slot-sized pieces of preallocated memory.
 * Nothing is allocated per call and nothing a call leaves behind lives on the JS heap: before, each call
 * left a key string, an entry object, a Map entry and a copy of its reply for the next 8192 calls, which
 * all outlived the young generation and had to be collected from the old one (docs/perf-notes.md).
 */
export class DuplicateRequestCache {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  private readonly cap: number;
  private readonly mask: number;
  /** first slot of each hash chain (-1: none) */
  private readonly buckets: Int32Array;
  private readonly next: Int32Array;
  private readonly hashes: Uint32Array;
  /** xid, prog, vers, proc, argument length, argument checksum: six words per slot */
  private readonly words: Uint32Array;
  private readonly addrs: (string | undefined)[];
  private readonly state: Uint8Array;
  private readonly at: Float64Array;
  /** the ticket of the call in each slot, so that a finish after the slot was reused is ignored */
  private readonly tickets: Float64Array;
  private readonly replyLen: Int32Array;
  private readonly pages: (Buffer | undefined)[];
  private readonly bigReplies: (Buffer | undefined)[];
  /** the slot the next new call takes */
  private tail = 0;
  /** the oldest slot taken, and how many from there to the tail (entries and holes) */
  private head = 0;
  private used = 0;
  /** calls recorded so far: with the slot, a ticket no other call in this cache has */
  private calls = 0;
  private live = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: DrcOptions = {}) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? 8192);
    this.maxAgeMs = opts.maxAgeMs ?? 120_000;
    const cap = this.maxEntries;
    this.cap = cap;
    let nb = 16;
    while (nb < cap * 2) nb *= 2;
    this.mask = nb - 1;
    this.buckets = new Int32Array(nb).fill(-1);
    this.next = new Int32Array(cap).fill(-1);
    this.hashes = new Uint32Array(cap);
    this.words = new Uint32Array(cap * 6);
    this.addrs = new Array<string | undefined>(cap).fill(undefined);
    this.state = new Uint8Array(cap);
    this.at = new Float64Array(cap);
    this.tickets = new Float64Array(cap).fill(-1);
    this.replyLen = new Int32Array(cap);
    this.pages = new Array<Buffer | undefined>(Math.ceil(cap / PAGE_SLOTS)).fill(undefined);
    this.bigReplies = new Array<Buffer | undefined>(cap).fill(undefined);
  }

  /** Entries held (calls in progress and replies kept). */
  get size(): number {
    return this.live;
  }

  /**
   * Looks a call up. The key: client address (not port: Linux may reconnect from a new port and
   * retransmit) + xid + prog/vers/proc + argument length + crc32 of the first 256 argument bytes.
   * Returns a ticket (a number) for a new call, now recorded as in progress, to pass to finish() or
   * abandon(); or the entry of a retransmission: in progress (drop it) or done (resend `reply`).
   * `now`: performance.now(), when the caller has read the clock already.
   */
  begin(
    address: string,
    xid: number,
    prog: number,
    vers: number,
    proc: number,
    rec: Buffer,
    argsStart: number,
    now = performance.now(),
  ): number | DrcEntry {
    const len = rec.length - argsStart;
    const sum = crc32(rec.subarray(argsStart, argsStart + Math.min(len, CHECKSUM_BYTES))) >>> 0;
    const hash = mix(xid, proc, len, sum);
    const w = this.words;
    for (let i = this.buckets[hash & this.mask]; i >= 0; i = this.next[i]) {
      const o = i * 6;
      if (
        this.hashes[i] !== hash ||
        w[o] !== xid >>> 0 ||
        w[o + 5] !== sum ||
        w[o + 4] !== len ||
        w[o + 3] !== proc ||
        w[o + 1] !== prog ||
        w[o + 2] !== vers ||
        this.addrs[i] !== address
      )
        continue;
      if (now - this.at[i] > this.maxAgeMs) {
        this.drop(i);
        break;
      }
      return this.state[i] === DONE ? { state: 'done', reply: this.replyOf(i) } : { state: 'in-progress', reply: null };
    }
    this.pruneExpired(now);
    const i = this.tail;
    this.tail = i + 1 === this.cap ? 0 : i + 1;
    if (this.used === this.cap) {
      // full: the oldest slot (head = tail) is reused
      if (this.state[i] !== EMPTY) this.drop(i);
      this.head = this.tail;
    } else this.used++;
    const o = i * 6;
    w[o] = xid;
    w[o + 1] = prog;
    w[o + 2] = vers;
    w[o + 3] = proc;
    w[o + 4] = len;
    w[o + 5] = sum;
    this.addrs[i] = address;
    this.hashes[i] = hash;
    this.state[i] = IN_PROGRESS;
    this.at[i] = now;
    const ticket = ++this.calls * this.cap + i;
    this.tickets[i] = ticket;
    const b = hash & this.mask;
    this.next[i] = this.buckets[b];
    this.buckets[b] = i;
    this.live++;
    return ticket;
  }

  /** Records the reply (record mark included, in one or more pieces) of a call begun with `begin`;
   *  a no-op if it was evicted or abandoned meanwhile. The bytes are copied. */
  finish(ticket: number, reply: Buffer | Buffer[]): void {
    const i = this.slotOf(ticket);
    if (i < 0 || this.state[i] !== IN_PROGRESS) return;
    const chunks = Buffer.isBuffer(reply) ? [reply] : reply;
    let n = 0;
    for (const c of chunks) n += c.length;
    if (n <= SLOT_BYTES) {
      const page = (this.pages[(i / PAGE_SLOTS) | 0] ??= Buffer.allocUnsafeSlow(PAGE_SLOTS * SLOT_BYTES));
      let at = (i % PAGE_SLOTS) * SLOT_BYTES;
      for (const c of chunks) {
        page.set(c, at);
        at += c.length;
      }
    } else this.bigReplies[i] = Buffer.concat(chunks, n);
    this.replyLen[i] = n;
    this.state[i] = DONE;
  }

  /** Forgets a call whose handler produced no reply, so a retransmission runs it again. */
  abandon(ticket: number): void {
    const i = this.slotOf(ticket);
    if (i >= 0 && this.state[i] === IN_PROGRESS) this.drop(i);
  }

  /** Drops expired entries, oldest first; stops at the first fresh one. */
  pruneExpired(now = performance.now()): void {
    const limit = now - this.maxAgeMs;
    // the slots from head to tail hold the entries in age order, and holes (abandoned, dropped calls)
    while (this.used > 0) {
      const i = this.head;
      if (this.state[i] !== EMPTY) {
        if (this.at[i] >= limit) return;
        this.drop(i);
      }
      this.head = i + 1 === this.cap ? 0 : i + 1;
      this.used--;
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
    for (let i = 0; i < this.cap; i++) if (this.state[i] !== EMPTY) this.drop(i);
    this.tail = this.head = this.used = 0;
  }

  /** The slot of a ticket (sequence number * capacity + slot), or -1 when the slot has been reused since. */
  private slotOf(ticket: number): number {
    const i = ticket % this.cap;
    return this.tickets[i] === ticket ? i : -1;
  }

  private replyOf(i: number): Buffer {
    const big = this.bigReplies[i];
    if (big !== undefined) return big;
    const at = (i % PAGE_SLOTS) * SLOT_BYTES;
    // a copy: the slot is reused once the ring comes round, maybe before the socket has sent it
    return Buffer.from(this.pages[(i / PAGE_SLOTS) | 0]!.subarray(at, at + this.replyLen[i]));
  }

  /** Empties slot i and unlinks it from its hash chain. */
  private drop(i: number): void {
    const b = this.hashes[i] & this.mask;
    if (this.buckets[b] === i) this.buckets[b] = this.next[i];
    else
      for (let j = this.buckets[b]; j >= 0; j = this.next[j])
        if (this.next[j] === i) {
          this.next[j] = this.next[i];
          break;
        }
    this.next[i] = -1;
    this.state[i] = EMPTY;
    this.addrs[i] = undefined;
    this.bigReplies[i] = undefined;
    this.tickets[i] = -1;
    this.live--;
  }
}

/** 32-bit hash of a call's key words (the address is compared, not hashed: few clients, many xids). */
function mix(xid: number, proc: number, len: number, sum: number): number {
  let h = Math.imul(xid ^ 0x9e3779b9, 0x85ebca6b);
  h ^= Math.imul(sum ^ (h >>> 15), 0xc2b2ae35);
  h ^= Math.imul(len + (proc << 20), 0x27d4eb2f);
  h ^= h >>> 16;
  return h >>> 0;
}
