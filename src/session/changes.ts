// The changes of a session: a recursive diff of its base tree and its sealed tree. Equal subtree hashes
// are skipped (diffDir reads only differing trie nodes), so the cost follows the number of changes.
import { LRUCache } from 'lru-cache';
import { EMPTY_TREE, objectRelKey, type ObjectStore, type TreeEntry } from '../store/index.js';
import type { ChangesSummary } from './record.js';
import { countLines, diffLines, isText, splitLines, unifiedDiff } from './textdiff.js';

export type ChangeType = 'added' | 'modified' | 'deleted';
export const CHANGE_TYPES: readonly ChangeType[] = ['added', 'modified', 'deleted'];

/** Files at most this size are returned inline (below 100 KB). */
export const INLINE_MAX = 100 * 1024;

export interface TreeChange {
  path: string;
  before: TreeEntry | null;
  after: TreeEntry | null;
  change_type: ChangeType;
}

/** True when two entries hold the same thing (kind, content, mode, device); inode numbers, link counts and
 *  times aside. */
export function sameContent(a: TreeEntry | null, b: TreeEntry | null): boolean {
  if (!a || !b) return a === b;
  return (
    a.kind === b.kind &&
    a.mode === b.mode &&
    (a.hash ?? null) === (b.hash ?? null) &&
    (a.target ?? null) === (b.target ?? null) &&
    (a.rdev?.[0] ?? 0) === (b.rdev?.[0] ?? 0) &&
    (a.rdev?.[1] ?? 0) === (b.rdev?.[1] ?? 0)
  );
}

const isDir = (e: TreeEntry | null): e is TreeEntry => e?.kind === 'dir';

/**
 * Every changed non-directory path between two trees, in path order. An added or removed directory is
 * reported by its contents; an empty one by itself. Changes of mode count, changes of mtime alone do not.
 */
export async function diffTrees(store: ObjectStore, a: string, b: string, prefix = ''): Promise<TreeChange[]> {
  const out: TreeChange[] = [];
  await walk(store, a, b, prefix, out);
  return out;
}

async function walk(store: ObjectStore, a: string, b: string, prefix: string, out: TreeChange[]): Promise<void> {
  if (a === b) return;
  const level = await store.diffDir(a, b);
  const subs = await Promise.all(
    level.map(async (c) => {
      const path = prefix + c.name;
      const local: TreeChange[] = [];
      const bd = isDir(c.before),
        ad = isDir(c.after);
      if (bd || ad) {
        const sub: TreeChange[] = [];
        await walk(
          store,
          bd ? (c.before!.hash ?? EMPTY_TREE) : EMPTY_TREE,
          ad ? (c.after!.hash ?? EMPTY_TREE) : EMPTY_TREE,
          path + '/',
          sub,
        );
        // an empty directory appearing or disappearing is a change of its own
        if (sub.length === 0 && bd !== ad) {
          if (ad && !c.before) local.push({ path, before: null, after: c.after, change_type: 'added' });
          else if (bd && !c.after) local.push({ path, before: c.before, after: null, change_type: 'deleted' });
        }
        local.push(...sub);
      }
      const bf = c.before && !bd ? c.before : null;
      const af = c.after && !ad ? c.after : null;
      if (bf && af) {
        if (!sameContent(bf, af)) local.push({ path, before: bf, after: af, change_type: 'modified' });
      } else if (bf) local.push({ path, before: bf, after: null, change_type: 'deleted' });
      else if (af) local.push({ path, before: null, after: af, change_type: 'added' });
      return local;
    }),
  );
  for (const s of subs) out.push(...s);
}

export function summarize(changes: readonly { change_type: ChangeType }[]): ChangesSummary {
  const s: ChangesSummary = { total: changes.length, added: 0, modified: 0, deleted: 0 };
  for (const c of changes) s[c.change_type]++;
  return s;
}

/** One change as the API shows it (file_path, change_type, content or storage_key). */
export interface ChangeView {
  path: string;
  file_path: string;
  change_type: ChangeType;
  kind: TreeEntry['kind'];
  size: number;
  mode: number;
  /** content blob of the new version (files) */
  hash: string | null;
  previous_hash: string | null;
  /** symlinks */
  target?: string;
  binary: boolean;
  lines_added: number | null;
  lines_removed: number | null;
  /** inline content (UTF-8 text, or base64 with content_encoding "base64") for files < 100 KB */
  content: string | null;
  content_encoding?: 'utf8' | 'base64';
  /** where large content is: the blob's key within the project, and its hash */
  storage_key: string | null;
  blob: string | null;
  metadata: { size: number; lines_added: number | null; lines_removed: number | null; mtime: string | null };
}

export interface DescribeOptions {
  content?: boolean;
}

/** Lines added/removed (and binary-ness) of a (before, after) content pair never change: a listing asked
 *  again (a page refreshed, a live session re-read) reads and diffs only the pairs it has not seen. */
// bounded by maxSize, not max: a large max pre-allocates its arrays when this module loads (every mic command)
const pairs = new LRUCache<string, LineCounts>({ maxSize: 200_000, sizeCalculation: () => 1 });

export interface LineCounts {
  binary: boolean;
  added: number | null;
  removed: number | null;
}

/** The line-count key of a file change (its before and after content), or null for a change of no file. */
export function pairKey(c: TreeChange): string | null {
  const beforeFile = c.before?.kind === 'file' ? c.before : null;
  const afterFile = c.after?.kind === 'file' ? c.after : null;
  if ((c.after ?? c.before)?.kind !== 'file') return null;
  return `${beforeFile ? `${beforeFile.hash ?? ''}:${beforeFile.size}` : '-'}>${afterFile ? `${afterFile.hash ?? ''}:${afterFile.size}` : '-'}`;
}

/** Line counts known for a pair (computed here, or loaded by line-counts.ts). */
export function knownCounts(key: string): LineCounts | undefined {
  return pairs.get(key);
}
export function rememberCounts(key: string, v: LineCounts): void {
  pairs.set(key, v);
}

/** Details of each change: sizes, lines added and removed for text, content inline or by blob hash. */
export async function describeChanges(store: ObjectStore, changes: readonly TreeChange[], o: DescribeOptions = {}): Promise<ChangeView[]> {
  const withContent = o.content ?? true;
  return Promise.all(
    changes.map(async (c) => {
      const e = (c.after ?? c.before)!;
      const after = c.after;
      let binary = false,
        added: number | null = null,
        removed: number | null = null;
      let content: string | null = null,
        encoding: 'utf8' | 'base64' | undefined;
      let storageKey: string | null = null,
        blob: string | null = null;
      if (e.kind === 'file') {
        const small = (x: TreeEntry | null) => !!x && x.kind === 'file' && x.size <= 1024 * 1024 && !!x.hash;
        const beforeFile = c.before?.kind === 'file' ? c.before : null;
        const afterFile = after?.kind === 'file' ? after : null;
        const key = pairKey(c)!;
        const known = pairs.get(key);
        if (known && !(withContent && afterFile && afterFile.size < INLINE_MAX)) {
          ({ binary, added, removed } = known);
          if (afterFile && afterFile.size >= INLINE_MAX) {
            blob = afterFile.hash ?? null;
            storageKey = blob ? objectRelKey('blobs', blob) : null;
          }
          return view(c, e, binary, added, removed, content, encoding, storageKey, blob);
        }
        const [bBuf, aBuf] = await Promise.all([
          small(beforeFile) ? store.getBlob(beforeFile!.hash!) : Promise.resolve(null),
          small(afterFile) ? store.getBlob(afterFile!.hash!) : Promise.resolve(null),
        ]);
        const textual = (x: TreeEntry | null, buf: Buffer | null) => !x || (buf !== null && isText(buf));
        if (textual(beforeFile, bBuf) && textual(afterFile, aBuf)) {
          const ops = diffLines(splitLines(bBuf?.toString('utf8') ?? ''), splitLines(aBuf?.toString('utf8') ?? ''));
          ({ added, removed } = countLines(ops));
        } else binary = true;
        pairs.set(key, { binary, added, removed });
        if (afterFile) {
          if (afterFile.size < INLINE_MAX) {
            if (withContent && aBuf) {
              if (binary && !isText(aBuf)) {
                content = aBuf.toString('base64');
                encoding = 'base64';
              } else {
                content = aBuf.toString('utf8');
                encoding = 'utf8';
              }
            }
          } else {
            blob = afterFile.hash ?? null;
            storageKey = blob ? objectRelKey('blobs', blob) : null;
          }
        }
      }
      return view(c, e, binary, added, removed, content, encoding, storageKey, blob);
    }),
  );
}

function view(
  c: TreeChange,
  e: TreeEntry,
  binary: boolean,
  added: number | null,
  removed: number | null,
  content: string | null,
  encoding: 'utf8' | 'base64' | undefined,
  storageKey: string | null,
  blob: string | null,
): ChangeView {
  const after = c.after;
  const v: ChangeView = {
    path: c.path,
    file_path: c.path,
    change_type: c.change_type,
    kind: e.kind,
    size: after ? after.size : c.before!.size,
    mode: e.mode,
    hash: after?.hash ?? null,
    previous_hash: c.before?.hash ?? null,
    binary,
    lines_added: added,
    lines_removed: removed,
    content,
    storage_key: storageKey,
    blob,
    metadata: {
      size: after ? after.size : c.before!.size,
      lines_added: added,
      lines_removed: removed,
      mtime: after ? new Date(after.mtime[0] * 1000 + Math.floor(after.mtime[1] / 1e6)).toISOString() : null,
    },
  };
  if (encoding) v.content_encoding = encoding;
  if (e.kind === 'symlink') v.target = e.target;
  return v;
}

/** A unified diff of all text changes; binary files get one "Binary files differ" line. */
export async function diffText(store: ObjectStore, changes: readonly TreeChange[]): Promise<string> {
  const parts = await Promise.all(
    changes.map(async (c) => {
      const read = async (x: TreeEntry | null): Promise<Buffer | null> => {
        if (!x) return null;
        if (x.kind === 'symlink') return Buffer.from(`-> ${x.target ?? ''}\n`);
        if (x.kind !== 'file' || !x.hash) return Buffer.alloc(0);
        if (x.size > 1024 * 1024) return null;
        return store.getBlob(x.hash);
      };
      const [b, a] = await Promise.all([read(c.before), read(c.after)]);
      const tooBig = (x: TreeEntry | null, buf: Buffer | null) => x !== null && buf === null;
      if (tooBig(c.before, b) || tooBig(c.after, a) || (b && !isText(b)) || (a && !isText(a))) {
        return `diff --mic a/${c.path} b/${c.path}\nBinary files ${c.before ? 'a/' + c.path : '/dev/null'} and ${c.after ? 'b/' + c.path : '/dev/null'} differ\n`;
      }
      const text = unifiedDiff(c.path, b ? b.toString('utf8') : null, a ? a.toString('utf8') : null);
      if (text) return text;
      // same content: mode change (or an empty file appearing/disappearing)
      const mode = (x: TreeEntry | null) => (x ? x.mode.toString(8) : 'none');
      return `diff --mic a/${c.path} b/${c.path}\n${c.change_type} ${c.path} (mode ${mode(c.before)} -> ${mode(c.after)})\n`;
    }),
  );
  return parts.join('');
}

/** One file a landing changed (the design's FileChange): hashes are blob hashes, null where absent. */
export interface LandedChange {
  path: string;
  change_type: 'added' | 'modified' | 'deleted';
  old_hash: string | null;
  new_hash: string | null;
}

/** A land answer lists at most this many changed files. */
const MAX_LANDED_CHANGES = 10_000;

/** The design's per-file changes of a land reply: path, change type, blob hashes before and after. */
export function landedChanges(list: readonly TreeChange[]): { changes: LandedChange[]; changes_truncated: boolean } {
  return {
    changes: list
      .slice(0, MAX_LANDED_CHANGES)
      .map((c) => ({ path: c.path, change_type: c.change_type, old_hash: c.before?.hash ?? null, new_hash: c.after?.hash ?? null })),
    changes_truncated: list.length > MAX_LANDED_CHANGES,
  };
}
