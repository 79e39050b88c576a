// The JSON the pages need beyond the API: a filtered, sorted, paged session list; the head log with
// change counts; a head's file tree; comparing two heads; raw file download. Everything goes through the
// session service and the project's object store; errors are the session layer's domain errors.
import { EMPTY_TREE, type TreeEntry } from '../store/index.js';
import { InvalidInputError, NotFoundError } from '../session/errors.js';
import type { SessionService } from '../session/service.js';
import { lookupPath } from '../session/history.js';
import { diffTrees, describeChanges, summarize } from '../session/changes.js';
import { sessionView, STATUSES, type SessionRecord, type SessionStatus, type SessionView } from '../session/record.js';
import * as input from '../session/input.js';
import { isText } from '../session/textdiff.js';

/** A head as the service's log shows it (src/ui sits below src/api: it does not import the API's types). */
export type HeadView = Awaited<ReturnType<SessionService['log']>>['heads'][number];

export const SORTS = ['started', 'landed', 'updated'] as const;
type Sort = (typeof SORTS)[number];

export interface UiSessionsQuery {
  project?: string;
  status?: string;
  tag?: string;
  q?: string;
  sort?: string;
  order?: string;
  limit?: string;
  offset?: string;
}

export interface UiSessionsBody {
  sessions: SessionView[];
  total: number;
  limit: number;
  offset: number;
  next_offset: number | null;
  /** every project and tag among all sessions, for the filters */
  projects: string[];
  tags: string[];
  counts: Record<SessionStatus, number>;
}

const sortKey = (r: SessionRecord, s: Sort): string =>
  s === 'landed' ? (r.landed_at ?? r.ended_at ?? '') : s === 'updated' ? (r.updated_at ?? r.started_at) : r.started_at;

/** `readable`: the projects the caller may read (a user token); the others' sessions are not listed. */
export async function listSessions(
  s: SessionService,
  q: UiSessionsQuery,
  readable: (project: string) => Promise<boolean> = async () => true,
): Promise<UiSessionsBody> {
  const status = q.status ? input.statusParam(q.status) : undefined;
  const sort = (q.sort || 'started') as Sort;
  if (!SORTS.includes(sort)) throw new InvalidInputError('sort', `must be one of ${SORTS.join(', ')}`);
  const order = q.order || 'desc';
  if (order !== 'asc' && order !== 'desc') throw new InvalidInputError('order', 'must be asc or desc');
  const limit = input.intParam(q.limit, 'limit', 50, 1, 500);
  const offset = input.intParam(q.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
  const text = (q.q ?? '').trim().toLowerCase();
  const listed = await s.catalog.list();
  const mayRead = new Map<string, boolean>();
  for (const p of new Set(listed.map((r) => r.project))) mayRead.set(p, await readable(p));
  const all = listed.filter((r) => mayRead.get(r.project));
  const projects = [...new Set(all.map((r) => r.project))].sort();
  const tags = [...new Set(all.flatMap((r) => r.tags))].sort();
  const counts = Object.fromEntries(STATUSES.map((st) => [st, 0])) as Record<SessionStatus, number>;
  const hits = all.filter((r) => {
    if (q.project && r.project !== q.project) return false;
    if (q.tag && !r.tags.includes(q.tag)) return false;
    if (text && !r.goal.toLowerCase().includes(text) && !r.session_id.toLowerCase().includes(text)) return false;
    counts[r.status]++;
    return !status || r.status === status;
  });
  hits.sort((a, b) => {
    const ka = sortKey(a, sort),
      kb = sortKey(b, sort);
    // sessions without the key (not landed yet) go last either way
    if (!ka !== !kb) return ka ? -1 : 1;
    const c = ka.localeCompare(kb) || a.session_id.localeCompare(b.session_id);
    return order === 'asc' ? c : -c;
  });
  const page = hits.slice(offset, offset + limit).map(sessionView);
  // a live session's record holds no current change counts: the shown page's are measured (as GET /api/sessions/:id does)
  await Promise.all(
    page.map(async (v, i) => {
      if (v.status !== 'active' && v.status !== 'suspended' && v.status !== 'failed') return;
      try {
        page[i] = { ...v, changes: (await s.get(v.session_id)).session.changes };
      } catch {
        /* handed off or unreadable here: the recorded counts stand */
      }
    }),
  );
  return {
    sessions: page,
    total: hits.length,
    limit,
    offset,
    next_offset: offset + page.length < hits.length ? offset + page.length : null,
    projects,
    tags,
    counts,
  };
}

export function projectName(org: string, name: string): string {
  return input.projectParam(org, name);
}

/** A head by hash, prefix or HEAD (the service's resolution, through its log). */
export async function resolveHead(s: SessionService, project: string, ref: string): Promise<HeadView> {
  return (await s.log(project, { limit: 1, before: ref })).heads[0];
}

export interface UiHead extends HeadView {
  summary: { total: number; added: number; modified: number; deleted: number };
  author: string | null;
  session_status: SessionStatus | null;
}

/** The head log, newest first, each head with its change counts against its parent and its author. */
export async function headLog(
  s: SessionService,
  project: string,
  q: { limit?: string; before?: string },
): Promise<{ project: string; heads: UiHead[]; next: string | null }> {
  const log = await s.log(project, { limit: input.intParam(q.limit, 'limit', 30, 1, 200), before: q.before || undefined });
  const store = s.catalog.store(project);
  const heads = await Promise.all(
    log.heads.map(async (h) => {
      const parentTree = h.parent ? (await store.getHeadRecord(h.parent)).tree : EMPTY_TREE;
      const r = h.session ? await s.catalog.get(h.session) : null;
      return {
        ...h,
        summary: summarize(await diffTrees(store, parentTree, h.tree)),
        author: r ? (r.agent ?? (typeof r.metadata.author === 'string' ? r.metadata.author : null)) : null,
        session_status: r?.status ?? null,
      };
    }),
  );
  return { project, heads, next: log.next };
}

export interface TreeBody {
  project: string;
  head: HeadView;
  path: string;
  entry: Omit<TreeEntry, 'mtime'> & { mtime: string; text?: boolean };
  /** directories: their entries, directories first, by name */
  entries?: (Omit<TreeEntry, 'mtime'> & { mtime: string })[];
}

const iso = (t: [number, number]) => new Date(t[0] * 1000 + Math.floor(t[1] / 1e6)).toISOString();
const plain = (e: TreeEntry) => ({ ...e, mtime: iso(e.mtime) });

export function pathParts(path: string | null): string[] {
  if (path === null || path === '' || path === '/') return [];
  return input.treePath(path.replace(/^\/+|\/+$/g, ''), 'path');
}

/** What is at path in a head: a directory's listing, or a file's entry (its content is a blob). */
export async function treeAt(s: SessionService, project: string, ref: string, path: string | null): Promise<TreeBody> {
  const head = await resolveHead(s, project, ref);
  const store = s.catalog.store(project);
  const parts = pathParts(path);
  const entry: TreeEntry | null = parts.length
    ? await lookupPath(store, head.tree, parts)
    : { name: '', kind: 'dir', mode: 0o755, ino: 1, size: 0, mtime: [0, 0], hash: head.tree };
  if (!entry) throw new NotFoundError('path', `${parts.join('/')} is not in head ${head.hash.slice(0, 12)}`);
  const out: TreeBody = { project, head, path: parts.join('/'), entry: plain(entry) };
  if (entry.kind === 'dir') {
    const list = await store.listDir(entry.hash ?? EMPTY_TREE);
    out.entries = [...list]
      .sort((a, b) =>
        (a.kind === 'dir') !== (b.kind === 'dir') ? (a.kind === 'dir' ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      )
      .map(plain);
  } else if (entry.kind === 'file' && entry.hash) {
    out.entry.text = entry.size <= 1024 * 1024 && isText(await store.getBlob(entry.hash));
  }
  return out;
}

const RAW_PIECE = 4 * 1024 * 1024;

/** A file at a head, for the raw download: its name, size and its bytes in pieces of 4 MiB (a large
 *  file is never held whole; a chunked blob fetches only the chunks of each piece). */
export async function rawFile(
  s: SessionService,
  project: string,
  ref: string,
  path: string | null,
): Promise<{ name: string; size: number; pieces: AsyncIterable<Buffer> }> {
  const head = await resolveHead(s, project, ref);
  const store = s.catalog.store(project);
  const parts = pathParts(path);
  const entry = parts.length ? await lookupPath(store, head.tree, parts) : null;
  if (!entry)
    throw parts.length
      ? new NotFoundError('path', `${parts.join('/')} is not in head ${head.hash.slice(0, 12)}`)
      : new InvalidInputError('path', 'is required');
  if (entry.kind !== 'file') throw new InvalidInputError('path', `${parts.join('/')} is a ${entry.kind}, not a file`);
  const hash = entry.hash;
  async function* pieces(): AsyncIterable<Buffer> {
    if (!hash) return;
    for (let off = 0; off < entry!.size; off += RAW_PIECE) yield await store.readBlob(hash, off, Math.min(RAW_PIECE, entry!.size - off));
  }
  return { name: entry.name, size: entry.size, pieces: pieces() };
}

/** The changes between two heads (a -> b), as the session page lists them. */
export async function compareHeads(s: SessionService, project: string, a: string, b: string) {
  const [ha, hb] = await Promise.all([resolveHead(s, project, a), resolveHead(s, project, b)]);
  const store = s.catalog.store(project);
  const list = await diffTrees(store, ha.tree, hb.tree);
  const MAX = 2000;
  return {
    project,
    a: ha,
    b: hb,
    summary: summarize(list),
    changes: await describeChanges(store, list.slice(0, MAX), { content: false }),
    truncated: list.length > MAX,
  };
}
