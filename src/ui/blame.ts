// Line blame: which head, session and decision last changed each line of a file. Walks the head chain
// back from the head asked for, skipping heads where the file's blob is unchanged, and carries each
// line's position back through a line diff (session/textdiff.ts) until the line first appears.
import { InvalidInputError, NotFoundError } from '../session/errors.js';
import type { SessionService } from '../session/service.js';
import { lookupPath } from '../session/history.js';
import { diffLines, isText, splitLines } from '../session/textdiff.js';
import type { SessionRecord } from '../session/record.js';
import type { HeadRecord } from '../store/index.js';
import { pathParts, resolveHead } from './data.js';

/** Heads walked at most (the history beyond is attributed to the oldest head reached). */
const MAX_HEADS = 10_000;

export interface BlameOrigin {
  head: string;
  message: string;
  time: string;
  session: string | null;
  goal: string | null;
  /** the decision recorded last before the session changed this file (or its last decision) */
  decision: { index: number; decision: string; reasoning: string } | null;
}

export interface BlameRange {
  start: number;
  end: number;
  origin: number;
}

export interface LineBlameBody {
  project: string;
  path: string;
  head: string;
  /** the file's text; ranges are 1-based inclusive line numbers into it */
  content: string;
  origins: BlameOrigin[];
  ranges: BlameRange[];
  /** the walk stopped at MAX_HEADS: older lines are attributed to the oldest head reached */
  truncated: boolean;
}

function decisionFor(r: SessionRecord, path: string): BlameOrigin['decision'] {
  if (!r.decisions.length) return null;
  const fileTimes = (r.timeline ?? []).filter((e) => e.type === 'file' && e.path === path).map((e) => e.time);
  const when = fileTimes.length ? fileTimes[fileTimes.length - 1] : null;
  let index = r.decisions.length - 1;
  if (when) {
    const before = r.decisions.map((d, i) => ({ d, i })).filter((x) => x.d.time <= when);
    if (before.length) index = before[before.length - 1].i;
  }
  const d = r.decisions[index];
  return { index, decision: d.decision, reasoning: d.reasoning };
}

export async function blameLines(s: SessionService, project: string, ref: string, path: string): Promise<LineBlameBody> {
  const head = await resolveHead(s, project, ref);
  const store = s.catalog.store(project);
  const parts = pathParts(path);
  if (!parts.length) throw new InvalidInputError('path', 'is required');
  const rel = parts.join('/');
  const entry = await lookupPath(store, head.tree, parts);
  if (!entry) throw new NotFoundError('path', `${rel} is not in head ${head.hash.slice(0, 12)}`);
  if (entry.kind !== 'file') throw new InvalidInputError('path', `${rel} is a ${entry.kind}, not a file`);
  const buf = entry.hash ? await store.getBlob(entry.hash) : Buffer.alloc(0);
  if (!isText(buf)) throw new InvalidInputError('path', `${rel} is not a text file of at most 1 MiB`);
  const content = buf.toString('utf8');
  const lines = splitLines(content);
  const owner = new Int32Array(lines.length).fill(-1);
  const heads: { hash: string; rec: HeadRecord }[] = [];

  // pending: [line in the final file, line in the version being examined]
  let pending: [number, number][] = lines.map((_, i) => [i, i]);
  let cur = { hash: head.hash, rec: await store.getHeadRecord(head.hash) };
  let curHash = entry.hash ?? null;
  let curLines = lines;
  let truncated = false;
  let steps = 0;
  while (pending.length) {
    if (++steps > MAX_HEADS) {
      // attribute what is left to the oldest head reached
      truncated = true;
      const idx = heads.push(cur) - 1;
      for (const [i] of pending) owner[i] = idx;
      break;
    }
    const parent = cur.rec.parent ? { hash: cur.rec.parent, rec: await store.getHeadRecord(cur.rec.parent) } : null;
    const pe = parent ? await lookupPath(store, parent.rec.tree, parts) : null;
    if (parent && pe && pe.kind === 'file' && (pe.hash ?? null) === curHash) {
      cur = parent;
      continue;
    } // unchanged here
    const pbuf = pe?.kind === 'file' ? (pe.hash ? await store.getBlob(pe.hash) : Buffer.alloc(0)) : null;
    const idx = heads.push(cur) - 1;
    if (!parent || !pbuf || !isText(pbuf)) {
      for (const [i] of pending) owner[i] = idx;
      break;
    }
    const parentLines = splitLines(pbuf.toString('utf8'));
    const map = new Int32Array(curLines.length).fill(-1);
    let a = 0,
      b = 0;
    for (const op of diffLines(parentLines, curLines)) {
      if (op.t === '=') map[b++] = a++;
      else if (op.t === '-') a++;
      else b++;
    }
    const next: [number, number][] = [];
    for (const [i, v] of pending) {
      if (map[v] < 0) owner[i] = idx;
      else next.push([i, map[v]]);
    }
    pending = next;
    cur = parent;
    curHash = pe!.hash ?? null;
    curLines = parentLines;
  }

  // only the heads that own a line, in order of first appearance
  const used = new Map<number, number>();
  const ranges: BlameRange[] = [];
  for (let i = 0; i < lines.length; i++) {
    let o = used.get(owner[i]);
    if (o === undefined) {
      o = used.size;
      used.set(owner[i], o);
    }
    const last = ranges[ranges.length - 1];
    if (last && last.origin === o && last.end === i) last.end = i + 1;
    else ranges.push({ start: i + 1, end: i + 1, origin: o });
  }
  const origins: BlameOrigin[] = new Array(used.size);
  await Promise.all(
    [...used].map(async ([h, o]) => {
      const { hash, rec } = heads[h];
      const r = rec.session ? await s.catalog.get(rec.session) : null;
      origins[o] = {
        head: hash,
        message: rec.message,
        time: rec.time,
        session: rec.session,
        goal: r?.goal ?? null,
        decision: r ? decisionFor(r, rel) : null,
      };
    }),
  );
  return { project, path: rel, head: head.hash, content, origins, ranges, truncated };
}
