// GET /api/sessions: the filtered list, newest first, in pages with a cursor (session-index.ts): a page
// reads its own records, never every record. ?status=active|suspended reads the live index (catalog.ts) and
// also says how many there are (total); other lists do not count (that would read every record).
// Live sessions on the page carry their changes as of their last seal, never sealed for the listing: the
// last seal in this process (the background sealer keeps it within its delay of the mount's changes; an API
// change seals at once), else the recorded tree.json; summaries are cached by tree pair.
import { LRUCache } from 'lru-cache';
import { InvalidInputError } from './errors.js';
import * as input from './input.js';
import { DEFAULT_TYPE, isLive, sessionView, type ChangesSummary, type SessionRecord, type SessionView } from './record.js';
import type { ListBody } from './session-api.js';
import type { Catalog } from './catalog.js';
import { diffTrees, summarize } from './changes.js';
import { Limiter } from '../store/limiter.js';
import { decodeCursor, encodeCursor, recentName } from './session-index.js';

/** The tree a listing shows for a live session (no seal), or null for its base. */
export type ListedTree = (r: SessionRecord) => Promise<string | null>;

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 1000;
/** Records a filtered page looks at, at most, before answering with what it found and a cursor. */
export const SCAN_PER_PAGE = 2000;

const summaries = new LRUCache<string, ChangesSummary>({ maxSize: 10_000, sizeCalculation: () => 1 });

export interface ListFilter {
  status?: string;
  tag?: string;
  type?: string;
  project?: string;
  /** text in the goal or the id (the UI's search), lower case */
  text?: string;
}

/** One page of records, newest first, and the cursor of the next; total only for the live statuses. */
export async function pageOfSessions(
  catalog: Catalog,
  f: ListFilter,
  o: { limit: number; cursor?: string },
  also: (r: SessionRecord) => boolean = () => true,
): Promise<{ records: SessionRecord[]; next_cursor: string | null; total: number | null }> {
  const status = input.statusParam(f.status);
  const after = o.cursor ? decodeCursor(o.cursor) : undefined;
  const match = (r: SessionRecord) =>
    also(r) &&
    (!status || r.status === status) &&
    (!f.tag || r.tags.includes(f.tag)) &&
    (!f.project || r.project === f.project) &&
    (!f.type || (r.type ?? DEFAULT_TYPE) === f.type) &&
    (!f.text || r.goal.toLowerCase().includes(f.text) || r.session_id.toLowerCase().includes(f.text));
  if (status === 'active' || status === 'suspended') {
    // O(live sessions): the live index, in the same order and with the same cursors as the full index
    const all = (await catalog.liveList())
      .filter(match)
      .map((r) => ({ r, name: recentName(r) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const rest = after ? all.filter((x) => x.name > after) : all;
    const page = rest.slice(0, o.limit);
    return {
      records: page.map((x) => x.r),
      next_cursor: rest.length > page.length ? encodeCursor(page[page.length - 1]!.name) : null,
      total: all.length,
    };
  }
  const p = await catalog.page({ after, limit: o.limit, scan: Math.max(SCAN_PER_PAGE, o.limit), match });
  return { records: p.records, next_cursor: p.next ? encodeCursor(p.next) : null, total: null };
}

/** Views of a page's records; live ones with their changes as listedTree says (no seal). */
export async function viewsOf(catalog: Catalog, records: SessionRecord[], listedTree: ListedTree): Promise<SessionView[]> {
  const limiter = new Limiter(4);
  return Promise.all(
    records.map((r) =>
      limiter.run(async () => {
        const v = sessionView(r);
        if (!isLive(r)) return v;
        const tree = await listedTree(r).catch(() => null);
        if (!tree || tree === r.base.tree) return v;
        const key = `${r.project}:${r.base.tree}:${tree}`;
        let s = summaries.get(key);
        if (!s) summaries.set(key, (s = summarize(await diffTrees(catalog.store(r.project), r.base.tree, tree))));
        return { ...v, changes: { ...s } };
      }),
    ),
  );
}

export function projectFilter(v: unknown): string | undefined {
  if (v === undefined || v === '') return undefined;
  const [org, name, ...rest] = String(v).split('/');
  if (rest.length || name === undefined) throw new InvalidInputError('project', 'must be "org/name"');
  return input.projectParam(org!, name);
}

export async function listSessions(
  catalog: Catalog,
  q: Record<string, string | number | undefined>,
  listedTree: ListedTree,
): Promise<ListBody> {
  const str = (v: unknown) => (v === undefined || v === '' ? undefined : String(v));
  if (q.offset !== undefined && q.offset !== '' && String(q.offset) !== '0')
    throw new InvalidInputError('offset', 'is no longer supported: pass the cursor of the previous page (next_cursor)');
  const limit = input.intParam(q.limit, 'limit', DEFAULT_PAGE, 1, MAX_PAGE);
  const p = await pageOfSessions(
    catalog,
    { status: str(q.status), tag: str(q.tag), type: str(q.type), project: projectFilter(q.project) },
    { limit, cursor: str(q.cursor) },
  );
  return { sessions: await viewsOf(catalog, p.records, listedTree), limit, next_cursor: p.next_cursor, total: p.total };
}
