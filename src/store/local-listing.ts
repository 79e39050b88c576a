// The listing of a local store (local-backend.ts): keys under a directory of loose files merged with the
// keys packed objects (local-packs.ts) add, in byte order, reading only the directories a prefix and a
// start-after key can reach.
import { readdir, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { join } from 'node:path';
import { isCode } from '../../util/errno.js';

/** packed: the packed objects under dirRel that match prefix, sorted (null: none can be); after: only keys
 *  after it. */
export async function* walkLocal(
  root: string,
  dirRel: string,
  prefix: string,
  packed: Listed[] | null,
  after = '',
): AsyncGenerator<Listed> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(join(root, dirRel), { withFileTypes: true });
  } catch (e) {
    if (!isCode(e, 'ENOENT', 'ENOTDIR')) throw e;
    if (!packed?.length) return;
    dirents = [];
  }
  const byRel = new Map<string, { rel: string; dir: boolean }>();
  for (const d of dirents) {
    if (d.name.includes('~') || !(d.isFile() || d.isDirectory())) continue;
    const rel = dirRel + d.name + (d.isDirectory() ? '/' : '');
    byRel.set(rel, { rel, dir: d.isDirectory() });
  }
  const packedHere = new Map<string, Listed>();
  for (const p of packed ?? []) {
    const slash = p.key.indexOf('/', dirRel.length);
    if (slash < 0) packedHere.set(p.key, p);
    const rel = slash < 0 ? p.key : p.key.slice(0, slash + 1);
    if (!byRel.has(rel)) byRel.set(rel, { rel, dir: slash >= 0 });
  }
  const items = [...byRel.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  for (const it of items) {
    if (it.dir) {
      // every key below it.rel sorts before `after` when it.rel does and is not a prefix of it
      if (after && it.rel < after && !after.startsWith(it.rel)) continue;
      if (it.rel.startsWith(prefix) || prefix.startsWith(it.rel))
        yield* walkLocal(root, it.rel, prefix, packed && under(packed, it.rel), after);
    } else if (it.rel.startsWith(prefix) && !(after && it.rel <= after)) {
      try {
        const st = await stat(join(root, it.rel));
        yield { key: it.rel, size: st.size, mtimeMs: st.mtimeMs };
      } catch (e) {
        if (!isCode(e, 'ENOENT')) throw e; // deleted while listing
        const p = packedHere.get(it.rel);
        if (p) yield p;
      }
    }
  }
}

export type Listed = { key: string; size: number; mtimeMs: number };

/** The items of a sorted list whose keys start with rel (a contiguous run). */
function under(list: Listed[], rel: string): Listed[] {
  let lo = 0,
    hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.key < rel) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  while (end < list.length && list[end]!.key.startsWith(rel)) end++;
  return list.slice(lo, end);
}
