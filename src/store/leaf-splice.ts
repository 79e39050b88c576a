// Rewriting a sorted leaf node for a few changed names without sorting or re-encoding its other entries:
// the new entries are the old ones with the changes merged in by name, and when the old leaf's encoding is
// still known (tree-codec.ts keeps the recent ones) the new bytes are the old bytes' unchanged runs copied
// around the changed entries' encodings. Same entries, same bytes, same hash as encoding the leaf afresh
// (test/store/leaf-splice.test.ts); import-git rewrites a ~50-entry directory per changed path this way.
import type { TreeEntry } from './tree-entry.js';
import {
  LEAF_CLOSE_BYTES,
  LEAF_OPEN_LENGTH,
  adoptLeafEncoding,
  compareNames,
  entryBytes,
  knownLeafEncoding,
  sameEntry,
  type LeafNode,
} from './tree-codec.js';

export interface NameChange {
  name: string;
  /** normalized (frozen) entry, or null to delete */
  entry: TreeEntry | null;
}

/** Index of the first entry (of entries sorted by compareNames, from lo) whose name is >= name. */
export function lowerBound(entries: readonly TreeEntry[], name: string, lo = 0): number {
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareNames(entries[mid]!.name, name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** True when entries are in canonical order (strictly increasing names). */
export function isSortedLeaf(entries: readonly TreeEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (compareNames(entries[i - 1]!.name, entries[i]!.name) >= 0) return false;
  return true;
}

/** A piece of the new leaf: a run [a, b) of old entries, or one new entry. */
type Piece = { a: number; b: number } | TreeEntry;

/**
 * node (entries sorted) with changes applied (names unique); null when nothing changes. The result's entries
 * are sorted; its encoding is registered when node's was known.
 */
export function spliceLeaf(node: LeafNode, changes: readonly NameChange[]): LeafNode | null {
  const old = node.entries;
  const list = changes.length > 1 ? [...changes].sort((x, y) => compareNames(x.name, y.name)) : changes;
  const pieces: Piece[] = [];
  let i = 0;
  let count = old.length;
  for (const c of list) {
    const p = lowerBound(old, c.name, i);
    const hit = p < old.length && old[p]!.name === c.name;
    if (c.entry === null ? !hit : hit && sameEntry(old[p]!, c.entry)) continue;
    if (p > i) pieces.push({ a: i, b: p });
    if (c.entry !== null) pieces.push(c.entry);
    i = hit ? p + 1 : p;
    count += (c.entry !== null ? 1 : 0) - (hit ? 1 : 0);
  }
  if (pieces.length === 0 && i === 0) return null;
  if (i < old.length) pieces.push({ a: i, b: old.length });

  // pushed, not preallocated: freezing a holey array makes its elements a slow dictionary
  const entries: TreeEntry[] = [];
  for (const pc of pieces) {
    if ('a' in pc) for (let k = pc.a; k < pc.b; k++) entries.push(old[k]!);
    else entries.push(pc);
  }
  const next: LeafNode = { type: 'leaf', entries: Object.freeze(entries) };
  const enc = knownLeafEncoding(node);
  if (!enc) return next;

  // bytes: the old opening, the pieces joined by ',', the closing
  const start = (a: number) => (a === 0 ? LEAF_OPEN_LENGTH : enc.ends[a - 1]! + 1);
  let len = LEAF_OPEN_LENGTH + LEAF_CLOSE_BYTES.length + Math.max(0, count - 1);
  for (const pc of pieces) {
    if ('a' in pc) len += enc.ends[pc.b - 1]! - start(pc.a) - (pc.b - pc.a - 1);
    else len += entryBytes(pc).length;
  }
  const out = Buffer.allocUnsafe(len);
  const ends = new Uint32Array(count);
  enc.bytes.copy(out, 0, 0, LEAF_OPEN_LENGTH);
  let o = LEAF_OPEN_LENGTH;
  let n = 0;
  for (const pc of pieces) {
    if (n > 0) out[o++] = 0x2c; // ','
    if ('a' in pc) {
      const s = start(pc.a);
      const e = enc.ends[pc.b - 1]!;
      out.set(enc.bytes.subarray(s, e), o); // (never the same ArrayBuffer: V8 would copy the source first)
      const shift = o - s;
      for (let k = pc.a; k < pc.b; k++) ends[n++] = enc.ends[k]! + shift;
      o += e - s;
    } else {
      const b = entryBytes(pc);
      out.set(b, o);
      ends[n++] = o += b.length;
    }
  }
  LEAF_CLOSE_BYTES.copy(out, o);
  if (o + LEAF_CLOSE_BYTES.length !== len) throw new Error(`leaf splice: ${o + LEAF_CLOSE_BYTES.length} bytes, expected ${len}`);
  adoptLeafEncoding(next, { bytes: out, ends });
  return next;
}
