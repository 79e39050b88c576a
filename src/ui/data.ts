// The JSON the pages need beyond the API: a filtered, sorted, paged session list; the head log with
// change counts; a head's file tree; comparing two heads; raw file download. Everything goes through the
// session service and the project's object store; errors are the session layer's domain errors.
import { EMPTY_TREE, type TreeEntry } from '../store/index.js';
import { InvalidInputError, NotFoundError } from '../session/errors.js';
import type { SessionService } from '../session/service.js';
import { lookupPath } from '../session/history.js';
import { diffTrees, describeChanges, summarize } from '../session/changes.js';
import type { SessionStatus, SessionView } from '../session/record.js';
import { pageOfSessions, projectFilter, viewsOf } from '../session/session-list.js';
import { ProjectLister } from '../store/index.js';
import * as input from '../session/input.js';
import { isText } from '../session/textdiff.js';

/** A head as the service's log shows it (src/ui sits below src/api: it does not import the API's types). */
export type HeadView = Awaited<ReturnType<SessionService['log']>>['heads'][number];

export interface UiSessionsQuery {
  project?: string;
  status?: string;
  tag?: string;
  q?: string;
  limit?: string;
  cursor?: string;
}

export interface UiSessionsBody {
  /** newest first */
  sessions: SessionView[];
  limit: number;
  /** the next page's cursor, null on the last */
  next_cursor: string | null;
  /** the projects the caller may read, for the filter */
  projects: string[];
  /** the tags on this page (suggestions for the tag filter) */
  tags: string[];
  /** live sessions by status under the other filters: what is counted without reading every record */
  counts: { active: number; suspended: number };
}

const listers = new WeakMap<object, ProjectLister>();

/**
 * The sessions page's list, one page at a time (session-list.ts): a page reads its own records, never every
 * record, and live rows show their changes as of their last seal (no seal per row).
 * `readable`: the projects the caller may read (a user token); the others' sessions are not listed.
 */
export async function listSessions(
  s: SessionService,
  q: UiSessionsQuery,
  readable: (project: string) => Promise<boolean> = async () => true,
): Promise<UiSessionsBody> {
  const limit = input.intParam(q.limit, 'limit', 25, 1, 500);
  const text = (q.q ?? '').trim().toLowerCase() || undefined;
  const project = q.project ? projectFilter(q.project) : undefined;
  let lister = listers.get(s.catalog.backend);
  if (!lister) listers.set(s.catalog.backend, (lister = new ProjectLister(s.catalog.backend)));
  const all = await lister.projects();
  const allowed = new Set<string>();
  await Promise.all(all.map(async (p) => (await readable(p)) && allowed.add(p)));
  const filter = { status: q.status || undefined, tag: q.tag || undefined, project, text };
  const [page, live] = await Promise.all([
    pageOfSessions(s.catalog, filter, { limit, cursor: q.cursor || undefined }, (r) => allowed.has(r.project)),
    s.catalog.liveList(),
  ]);
  const counts = { active: 0, suspended: 0 };
  for (const r of live) {
    if (!allowed.has(r.project) || (project && r.project !== project) || (q.tag && !r.tags.includes(q.tag))) continue;
    if (text && !r.goal.toLowerCase().includes(text) && !r.session_id.toLowerCase().includes(text)) continue;
    if (r.status === 'active' || r.status === 'suspended') counts[r.status]++;
  }
  const sessions = await viewsOf(s.catalog, page.records, (r) => s.listedTree(r));
  return {
    sessions,
    limit,
    next_cursor: page.next_cursor,
    projects: [...allowed].sort(),
    tags: [...new Set(sessions.flatMap((v) => v.tags))].sort(),
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
