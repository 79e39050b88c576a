// The session page's data in one answer (GET /ui/api/sessions/:id): the session and its change list,
// each change cut to what the page shows (no content, no storage keys). A session that has ended has a
// fixed base and sealed tree, so its changes never change: they are kept (a few, newest first) and its
// answer carries an ETag, so a reload costs the daemon one record read and the network a 304.
import { createHash } from 'node:crypto';
import { NotFoundError } from '../session/errors.js';
import type { SessionService } from '../session/service.js';
import { describeChanges, diffTrees, summarize, type ChangeView } from '../session/changes.js';
import { loadLineCounts, saveLineCountsBehind } from '../session/line-counts.js';
import { isLive, sessionDetail, type ChangesSummary, type SessionDetail, type SessionRecord } from '../session/record.js';

export type PageChange = Pick<
  ChangeView,
  'path' | 'change_type' | 'kind' | 'size' | 'mode' | 'hash' | 'previous_hash' | 'target' | 'binary' | 'lines_added' | 'lines_removed'
>;

/** The session as GET /api/sessions/:id shows it, but for which daemon serves it (the page has no use for it). */
export type PageDetail = Omit<SessionDetail, 'served_by'>;

function pageDetail(r: SessionRecord): PageDetail {
  const { served_by: _, ...d } = sessionDetail(r);
  return d;
}

export interface UiSessionBody {
  session: PageDetail;
  summary: ChangesSummary;
  changes: PageChange[];
}

const slim = (c: ChangeView): PageChange => ({
  path: c.path,
  change_type: c.change_type,
  kind: c.kind,
  size: c.size,
  mode: c.mode,
  hash: c.hash,
  previous_hash: c.previous_hash,
  ...(c.target !== undefined ? { target: c.target } : {}),
  binary: c.binary,
  lines_added: c.lines_added,
  lines_removed: c.lines_removed,
});

interface Listed {
  summary: ChangesSummary;
  changes: PageChange[];
}

/** The changes between two trees of a project: content-addressed, so the same pair always gives the same list. */
const KEEP = 8;
const kept = new Map<string, Promise<Listed>>();

function changesBetween(s: SessionService, r: SessionRecord, tree: string): Promise<Listed> {
  const key = `${r.project}\0${r.base.tree}\0${tree}`;
  let p = kept.get(key);
  if (p) {
    kept.delete(key); // most recently used last
    kept.set(key, p);
    return p;
  }
  p = (async () => {
    const store = s.catalog.store(r.project);
    const [list, saved] = await Promise.all([diffTrees(store, r.base.tree, tree), loadLineCounts(store, r.base.tree, tree)]);
    const changes = (await describeChanges(store, list, { content: false })).map(slim);
    if (!saved) saveLineCountsBehind(store, r.base.tree, tree, list); // counted now: kept for the next reader
    return { summary: summarize(list), changes };
  })();
  p.catch(() => kept.delete(key));
  kept.set(key, p);
  while (kept.size > KEEP) kept.delete(kept.keys().next().value!);
  return p;
}

export interface UiSessionAnswer {
  body: UiSessionBody;
  /** set when the session has ended: the answer changes only if its record does */
  etag: string | null;
}

export async function sessionPageData(s: SessionService, r: SessionRecord): Promise<UiSessionAnswer> {
  const id = r.session_id;
  if (isLive(r)) {
    // its tree is sealed on read: the service does it, under the session's lock
    // its tree is sealed on read, once: the service does it, under the session's lock; the record is
    // read after it (the seal may have updated it). GET /api/sessions/:id would seal and diff again.
    const ch = await s.changes(id, { content: false });
    const now = await sessionRecord(s, id);
    return {
      body: { session: { ...pageDetail(now), changes: ch.summary }, summary: ch.summary, changes: ch.changes.map(slim) },
      etag: null,
    };
  }
  const session = pageDetail(r);
  const listed = await changesBetween(s, r, r.sealed?.tree ?? r.base.tree);
  const tag = createHash('sha256')
    .update(JSON.stringify(session))
    .update(`\0${r.base.tree}\0${r.sealed?.tree ?? ''}`)
    .digest('base64url')
    .slice(0, 22);
  return { body: { session, ...listed }, etag: `"${tag}"` };
}

/** The record of a session, or NotFound. */
export async function sessionRecord(s: SessionService, id: string): Promise<SessionRecord> {
  const r = await s.catalog.get(id);
  if (!r) throw new NotFoundError('session', `session ${JSON.stringify(id)} not found`);
  return r;
}
