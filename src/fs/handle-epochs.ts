// Which handles name which objects of a session whose rebases keep one fsid (docs/architecture.md, "Handles
// across a rebase"): the handle layout to mint for an inode, the object a verified handle names now (itself, the
// number a rebase renumbered it to, or none: STALE), and READDIR's cookie verifier.
import type { HandleCodec, HandleInfo } from './handles.js';

/**
 * Inode numbers below a base's nextIno name that base's objects, and the same objects (or none) in every later
 * head and rebuilt state; numbers at or above it are the session's own, which a rebuilt state may give to other
 * files. So a handle says which epoch made its object (handles.ts v2).
 */
export interface HandleEpochs {
  /** the session record's epoch now (bumped by each rebase) */
  epoch: number;
  /** the epoch the export's fsid was made in: v1 handles (no epoch in them) were minted in it */
  from: number;
  /** the base's nextIno in epoch `from`: a v1 handle of a lower number names an object of that base */
  fromNext: number;
  /** the base's nextIno now: lower numbers name objects of the base */
  baseNext: number;
  /** base numbers a rebase withdrew (the session had moved their objects: session/moved.ts): their handles
   *  carry the epoch, as those of the session's own objects do */
  revoked?: ReadonlySet<number>;
  /** objects earlier epochs made (or base objects since revoked) that rebases renumbered: by handle class
   *  (handleClass) and old number, the number of the same object now (session/renumbered.ts) */
  renumbered?: Renumbered;
}

/** Handle class of an object of a base (a v1 handle below `fromNext`, a v2 handle of epoch 0). */
export const BASE_CLASS = -1;

/** Old numbers by handle class: the object's number in the current state. */
export type Renumbered = ReadonlyMap<number, ReadonlyMap<number, number>>;

/** The table of a record's `[class, old number, number now]` triples. */
export function renumberedOf(list: readonly (readonly [number, number, number])[] | undefined): Renumbered | undefined {
  if (!list?.length) return undefined;
  const m = new Map<number, Map<number, number>>();
  for (const [c, from, to] of list) {
    let byIno = m.get(c);
    if (!byIno) m.set(c, (byIno = new Map()));
    byIno.set(from, to);
  }
  return m;
}

/** v1 (as before rebases kept the fsid) for every object while the session has not been rebased since its
 *  fsid was made, and for the objects of that epoch's base ever after; v2 with the epoch otherwise (0 for
 *  objects of the current base), so that an object of the base keeps one handle across rebases. No epochs
 *  (snapshots, tests): v1. */
export function mintHandle(codec: HandleCodec, fsid: bigint, e: HandleEpochs | undefined, ino: number): Buffer {
  return codec.encode(fsid, ino, handleEpoch(e, ino));
}

/** The epoch word of the handle mintHandle makes for `ino` now (undefined: a v1 handle). */
export function handleEpoch(e: HandleEpochs | undefined, ino: number): number | undefined {
  if (e?.revoked?.has(ino)) return e.epoch;
  if (!e || e.epoch === e.from || ino < e.fromNext) return undefined;
  return ino < e.baseNext ? 0 : e.epoch;
}

/** Which objects a handle can name, whatever its number: BASE_CLASS (an object of a base, one object in every
 *  epoch until the number is revoked) or the epoch that made the object. v1 handles were minted in epoch
 *  `from`, and v2 handles never carry `from` (mintHandle), so no two kinds of handle share a class. */
export function handleClass(e: HandleEpochs | undefined, h: HandleInfo): number {
  if (h.epoch === undefined) return !e || h.ino < e.fromNext ? BASE_CLASS : e.from;
  return h.epoch === 0 ? BASE_CLASS : h.epoch;
}

/** The number of the object a verified handle of the export names now: its own when the handle is current,
 *  else the one a rebase renumbered that object to; null when the object is gone (RFC 1813 2.3.3: STALE). */
export function handleIno(e: HandleEpochs | undefined, h: HandleInfo): number | null {
  if (currentHandle(e, h)) return h.ino;
  return e?.renumbered?.get(handleClass(e, h))?.get(h.ino) ?? null;
}

/** Whether a verified handle of the export names what its number names now (RFC 1813 2.3.3: else STALE). */
export function currentHandle(e: HandleEpochs | undefined, h: HandleInfo): boolean {
  if (!e) return h.epoch === undefined;
  if (e.revoked?.has(h.ino)) return h.epoch === e.epoch;
  if (h.epoch === undefined) return e.epoch === e.from || h.ino < e.fromNext;
  return h.epoch === 0 ? h.ino < e.baseNext : h.epoch === e.epoch;
}

/** READDIR's cookie verifier (RFC 1813 3.3.16): the epoch (zero before any rebase, as before), so that cookies
 *  of a listing begun before a rebase (whose rebuilt directories number their entries anew) are refused. */
export function cookieVerfOf(e: HandleEpochs | undefined): Buffer {
  const v = Buffer.alloc(8);
  v.writeUInt32BE(e?.epoch ?? 0, 4);
  return v;
}
