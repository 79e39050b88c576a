// A directory listing with stable cookies: each entry keeps the sequence number it was
// added with, and listings run in sequence order. A cookie is the last sequence number
// returned, so it stays valid while entries come and go (RFC 1813 3.3.16: the server
// may then send a zero cookie verifier).

export interface Slot {
  name: string;
  ino: number;
  seq: number;
  removed: boolean;
}

export class Directory {
  private byName = new Map<string, Slot>();
  private slots: Slot[] = [];
  private dead = 0;
  nextSeq = 1;

  get size(): number {
    return this.byName.size;
  }

  get(name: string): Slot | undefined {
    return this.byName.get(name);
  }

  add(name: string, ino: number, seq = this.nextSeq): Slot {
    const slot: Slot = { name, ino, seq, removed: false };
    if (seq >= this.nextSeq) this.nextSeq = seq + 1;
    const last = this.slots[this.slots.length - 1];
    if (!last || last.seq < seq) this.slots.push(slot);
    else this.slots.splice(this.indexAfter(seq - 1), 0, slot);
    this.byName.set(name, slot);
    return slot;
  }

  remove(name: string): Slot | undefined {
    const slot = this.byName.get(name);
    if (!slot) return undefined;
    this.byName.delete(name);
    slot.removed = true;
    if (++this.dead > 64 && this.dead > this.slots.length / 2) this.compact();
    return slot;
  }

  /** Live entries after a cookie, in cookie order; O(log n) to start, O(1) per entry. */
  *after(cookie: number): Generator<Slot> {
    for (let i = this.indexAfter(cookie); i < this.slots.length; i++) {
      const s = this.slots[i];
      if (!s.removed) yield s;
    }
  }

  /** The slot array and the index of the first slot after a cookie, for a listing that walks it by index
   *  (READDIR pages: no generator per page). Valid until the directory changes; removed slots are marked. */
  slotsAfter(cookie: number): { slots: readonly Slot[]; start: number } {
    return { slots: this.slots, start: this.indexAfter(cookie) };
  }

  entries(): IterableIterator<Slot> {
    return this.byName.values();
  }

  /** First index whose seq is greater than `seq`. */
  private indexAfter(seq: number): number {
    let lo = 0,
      hi = this.slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.slots[mid].seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(): void {
    this.slots = this.slots.filter((s) => !s.removed);
    this.dead = 0;
  }
}
