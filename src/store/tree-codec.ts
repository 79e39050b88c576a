// Canonical encoding of directory tree nodes.
//
// A directory is a hash-array-mapped trie over SHA-256(name):
//   leaf   {"v":1,"leaf":[E,...]}                           at most LEAF_MAX entries, sorted by name (UTF-8 byte order)
//   split  {"v":1,"depth":d,"count":n,"buckets":[h|null x16]} n > LEAF_MAX entries; bucket i holds the names whose
//                                                           SHA-256 has nibble i at position d (high nibble first)
// E is {"name","kind","mode","ino","size","mtime":[s,ns]} followed by "hash", "target", "dirs", "links", "rdev"
// when present, always in this key order. "links" (names of a hard-linked inode, > 1) and "rdev" ([major, minor]
// of a chardev or blockdev) came later: trees written before them decode unchanged and keep their hashes. The node for a set of names at a depth is unique (a leaf iff count <= LEAF_MAX,
// an empty bucket is null), so equal directories always have equal root hashes whatever the edit history.
// A node's hash is SHA-256 of this JSON; it is stored with the blob format of codec.ts.
import type { EntryKind, TreeEntry } from './tree-entry.js';
import { InvalidNameError } from './errors.js';
import { sha256Bytes, sha256Hex } from './codec.js';
import { isHash } from './keys.js';

export const LEAF_MAX = 512;
export const FANOUT = 16;
/** SHA-256 has 64 nibbles; a node this deep is a leaf whatever its size. */
export const MAX_DEPTH = 64;
export const MAX_NAME_BYTES = 255;

export interface LeafNode {
  type: 'leaf';
  entries: readonly TreeEntry[];
}
export interface SplitNode {
  type: 'split';
  depth: number;
  count: number;
  buckets: readonly (string | null)[];
}
export type TreeNode = LeafNode | SplitNode;

const KINDS: ReadonlySet<string> = new Set<EntryKind>(['file', 'dir', 'symlink', 'fifo', 'socket', 'chardev', 'blockdev']);
const LONE_SURROGATE = /\p{Cs}/u;

/** Throws InvalidNameError unless name is a valid single path component. */
export function validateEntryName(name: string): void {
  if (name.length === 0) throw new InvalidNameError(name, 'empty');
  if (name.includes('/')) throw new InvalidNameError(name, 'slash');
  if (name.includes('\0')) throw new InvalidNameError(name, 'nul');
  if (name === '.' || name === '..') throw new InvalidNameError(name, 'dot');
  if (LONE_SURROGATE.test(name)) throw new InvalidNameError(name, 'not-utf8');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw new InvalidNameError(name, 'too-long');
}

export function isValidEntryName(name: string): boolean {
  try {
    validateEntryName(name);
    return true;
  } catch {
    return false;
  }
}

const isUint = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** Validates an entry and returns a frozen copy holding only the known fields, in canonical order. */
export function normalizeEntry(e: TreeEntry): TreeEntry {
  validateEntryName(e.name);
  const bad = (field: string) => new TypeError(`tree entry ${JSON.stringify(e.name)}: bad ${field}`);
  if (!KINDS.has(e.kind)) throw bad('kind');
  if (!isUint(e.mode) || e.mode > 0o7777) throw bad('mode');
  if (!isUint(e.ino)) throw bad('ino');
  if (!isUint(e.size)) throw bad('size');
  if (
    !Array.isArray(e.mtime) ||
    e.mtime.length !== 2 ||
    !Number.isSafeInteger(e.mtime[0]) ||
    !isUint(e.mtime[1]) ||
    e.mtime[1] > 999_999_999
  )
    throw bad('mtime');
  const out: TreeEntry = {
    name: e.name,
    kind: e.kind,
    mode: e.mode,
    ino: e.ino,
    size: e.size,
    mtime: Object.freeze([e.mtime[0], e.mtime[1]]) as unknown as [number, number],
  };
  if (e.hash !== undefined) {
    if (typeof e.hash !== 'string' || !isHash(e.hash)) throw bad('hash');
    out.hash = e.hash;
  }
  if (e.target !== undefined) {
    if (typeof e.target !== 'string') throw bad('target');
    out.target = e.target;
  }
  if (e.dirs !== undefined) {
    if (!isUint(e.dirs)) throw bad('dirs');
    out.dirs = e.dirs;
  }
  if (e.links !== undefined) {
    if (!isUint(e.links) || e.links < 2 || e.kind === 'dir') throw bad('links');
    out.links = e.links;
  }
  const device = e.kind === 'chardev' || e.kind === 'blockdev';
  if (e.rdev !== undefined || device) {
    const r = e.rdev;
    if (!device || !Array.isArray(r) || r.length !== 2 || !isUint(r[0]) || !isUint(r[1]) || r[0] > 0xffffffff || r[1] > 0xffffffff)
      throw bad('rdev');
    out.rdev = Object.freeze([r[0], r[1]]) as unknown as [number, number];
  }
  return Object.freeze(out);
}

/** Encodings of frozen (normalized, so immutable) entries: a node rewritten for one changed name re-encodes
 *  only that entry, not its hundreds of unchanged neighbours (import-git rewrites a directory per commit). */
const encoded = new WeakMap<TreeEntry, string>();

/** Canonical JSON of a normalized entry (also used to compare entries). */
export function encodeEntry(e: TreeEntry): string {
  const known = encoded.get(e);
  if (known !== undefined) return known;
  const s = encodeFresh(e);
  if (Object.isFrozen(e)) encoded.set(e, s);
  return s;
}

/** encodeEntry(a) === encodeEntry(b) for normalized entries, without encoding them. */
export function sameEntry(a: TreeEntry, b: TreeEntry): boolean {
  return (
    a === b ||
    (a.name === b.name &&
      a.hash === b.hash &&
      a.ino === b.ino &&
      a.mtime[0] === b.mtime[0] &&
      a.mtime[1] === b.mtime[1] &&
      a.size === b.size &&
      a.mode === b.mode &&
      a.kind === b.kind &&
      a.target === b.target &&
      a.dirs === b.dirs &&
      a.links === b.links &&
      a.rdev?.[0] === b.rdev?.[0] &&
      a.rdev?.[1] === b.rdev?.[1])
  );
}

function encodeFresh(e: TreeEntry): string {
  let s =
    `{"name":${JSON.stringify(e.name)},"kind":"${e.kind}","mode":${e.mode},"ino":${e.ino},` +
    `"size":${e.size},"mtime":[${e.mtime[0]},${e.mtime[1]}]`;
  if (e.hash !== undefined) s += `,"hash":"${e.hash}"`;
  if (e.target !== undefined) s += `,"target":${JSON.stringify(e.target)}`;
  if (e.dirs !== undefined) s += `,"dirs":${e.dirs}`;
  if (e.links !== undefined) s += `,"links":${e.links}`;
  if (e.rdev !== undefined) s += `,"rdev":[${e.rdev[0]},${e.rdev[1]}]`;
  return s + '}';
}

/** UTF-8 of encodeEntry for frozen entries: a leaf's bytes are its cached entries' bytes copied together
 *  (2-3x faster than joining the strings and encoding the result, for the same bytes). */
const encodedBytes = new WeakMap<TreeEntry, Buffer>();
const LEAF_OPEN = Buffer.from('{"v":1,"leaf":[');
const LEAF_CLOSE = Buffer.from(']}');

/** A leaf's canonical bytes and where each entry's encoding ends in them (leaf-splice.ts rewrites a leaf
 *  for a few changed names by copying the unchanged runs). Kept for leaves this process encoded. */
export interface LeafEncoding {
  bytes: Buffer;
  /** ends[i]: offset just past entry i's encoding */
  ends: Uint32Array;
}
/** The most recent encodings, oldest first, bounded in bytes (the next version of a directory is usually
 *  written soon after the last; a miss only costs a full encoding). */
const leafEncodings = new Map<LeafNode, LeafEncoding>();
let keptOrder: LeafNode[] = []; // insertion order (a Map iterated from its front after deletes is slow)
let keptHead = 0;
const KEEP_ENCODING_BYTES = 16 * 1024 * 1024;
const KEEP_ENCODINGS = 4096;
let keptBytes = 0;

/** The encoding encodeNode made (or leaf-splice.ts registered) for this leaf object, if still kept. */
export function knownLeafEncoding(node: LeafNode): LeafEncoding | undefined {
  return leafEncodings.get(node);
}
/** Registers enc as the encoding of node (leaf-splice.ts: the same bytes encodeLeaf would give). */
export function adoptLeafEncoding(node: LeafNode, enc: LeafEncoding): void {
  if (leafEncodings.has(node) || enc.bytes.length > KEEP_ENCODING_BYTES / 64) return;
  leafEncodings.set(node, enc);
  keptOrder.push(node);
  keptBytes += enc.bytes.length;
  while (keptBytes > KEEP_ENCODING_BYTES || leafEncodings.size > KEEP_ENCODINGS) {
    const old = keptOrder[keptHead]!;
    keptOrder[keptHead++] = undefined as unknown as LeafNode;
    keptBytes -= leafEncodings.get(old)!.bytes.length;
    leafEncodings.delete(old);
  }
  if (keptHead > 4096 && keptHead * 2 > keptOrder.length) {
    keptOrder = keptOrder.slice(keptHead);
    keptHead = 0;
  }
}

export function entryBytes(e: TreeEntry): Buffer {
  let b = encodedBytes.get(e);
  if (b === undefined) {
    b = Buffer.from(encodeEntry(e), 'utf8');
    if (Object.isFrozen(e)) encodedBytes.set(e, b);
  }
  return b;
}

export const LEAF_OPEN_LENGTH = LEAF_OPEN.length;
export const LEAF_CLOSE_BYTES = LEAF_CLOSE;

function encodeLeaf(node: LeafNode): Buffer {
  const known = leafEncodings.get(node);
  if (known) return known.bytes;
  const entries = node.entries;
  const parts = new Array<Buffer>(entries.length);
  let len = LEAF_OPEN.length + LEAF_CLOSE.length + Math.max(0, entries.length - 1);
  for (let i = 0; i < entries.length; i++) len += (parts[i] = entryBytes(entries[i]!)).length;
  const out = Buffer.allocUnsafe(len);
  const ends = new Uint32Array(entries.length);
  let o = LEAF_OPEN.copy(out, 0);
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) out[o++] = 0x2c; // ','
    out.set(parts[i]!, o); // TypedArray.set: cheaper than Buffer#copy for small pieces
    ends[i] = o += parts[i]!.length;
  }
  LEAF_CLOSE.copy(out, o);
  if (Object.isFrozen(entries)) adoptLeafEncoding(node, { bytes: out, ends });
  return out;
}

export function encodeNode(node: TreeNode): Buffer {
  if (node.type === 'leaf') return encodeLeaf(node);
  const buckets = node.buckets.map((b) => (b === null ? 'null' : `"${b}"`)).join(',');
  return Buffer.from(`{"v":1,"depth":${node.depth},"count":${node.count},"buckets":[${buckets}]}`, 'utf8');
}

/** Parses a node; throws on anything malformed. Entries come back normalized and frozen. */
export function decodeNode(bytes: Buffer): TreeNode {
  const v = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  if (v.v !== 1) throw new Error('unknown tree node version');
  if (Array.isArray(v.leaf)) {
    return { type: 'leaf', entries: Object.freeze((v.leaf as TreeEntry[]).map(normalizeEntry)) };
  }
  const { depth, count, buckets } = v;
  if (
    !isUint(depth) ||
    depth >= MAX_DEPTH ||
    !isUint(count) ||
    count <= LEAF_MAX ||
    !Array.isArray(buckets) ||
    buckets.length !== FANOUT ||
    !buckets.every((b) => b === null || (typeof b === 'string' && isHash(b)))
  ) {
    throw new Error('malformed split node');
  }
  return { type: 'split', depth, count, buckets: Object.freeze(buckets as (string | null)[]) };
}

export const EMPTY_LEAF: LeafNode = Object.freeze({ type: 'leaf', entries: Object.freeze([]) as readonly TreeEntry[] });

/** Hash of the empty directory. */
export const EMPTY_TREE: string = sha256Hex(encodeNode(EMPTY_LEAF));

/** Orders names by their UTF-8 bytes (code point order), which differs from UTF-16 order around surrogates. */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x < 0xe000 ? x + 0x2000 : x - 0x800;
        y = y < 0xe000 ? y + 0x2000 : y - 0x800;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length - b.length;
}

/** The digest whose nibbles choose buckets. */
export function nameDigest(name: string): Buffer {
  return sha256Bytes(name);
}

/** Bucket (0..15) of a name digest at a depth: nibble `depth`, high nibble of each byte first. */
export function bucketAt(digest: Buffer, depth: number): number {
  const byte = digest[depth >> 1]!;
  return depth & 1 ? byte & 0x0f : byte >> 4;
}
