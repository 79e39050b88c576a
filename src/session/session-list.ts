// GET /api/sessions: the filtered, paged list. Live sessions on the page carry their changes as they are
// now (the record's summary is only written on landing): a session served here is measured from its sealed
// tree (sealing only what is dirty; the diff is O(changes)), one served elsewhere or handed off from its
// recorded tree.json; summaries are cached by tree hash, so an unchanged session costs a seal check only.
import { LRUCache } from 'lru-cache';
import { InvalidInputError } from './errors.js';
import * as input from './input.js';
import { DEFAULT_TYPE, isLive, sessionView, type ChangesSummary, type SessionRecord } from './record.js';
import type { ListBody } from './session-api.js';
import type { Catalog } from './catalog.js';
import { diffTrees, summarize } from './changes.js';
import { Limiter } from '../store/limiter.js';

export type LiveTree = (r: SessionRecord) => Promise<string | null>;

const summaries = new LRUCache<string, ChangesSummary>({ max: 10_000 });

export async function listSessions(
  catalog: Catalog,
  q: Record<string, string | number | undefined>,
  liveTree: LiveTree,
): Promise<ListBody> {
  const status = input.statusParam(q.status === undefined ? undefined : String(q.status));
  const tag = q.tag === undefined || q.tag === '' ? undefined : String(q.tag);
  const type = q.type === undefined || q.type === '' ? undefined : String(q.type);
  let project: string | undefined;
  if (q.project !== undefined && q.project !== '') {
    const [org, name, ...rest] = String(q.project).split('/');
    if (rest.length || name === undefined) throw new InvalidInputError('project', 'must be "org/name"');
    project = input.projectParam(org!, name);
  }
  const limit = input.intParam(q.limit, 'limit', 50, 1, 1000);
  const offset = input.intParam(q.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
  const all = (await catalog.list()).filter(
    (r) =>
      (!status || r.status === status) &&
      (!tag || r.tags.includes(tag)) &&
      (!project || r.project === project) &&
      (!type || (r.type ?? DEFAULT_TYPE) === type),
  );
  const page = all.slice(offset, offset + limit);
  const limiter = new Limiter(4);
  const views = await Promise.all(
    page.map((r) =>
      limiter.run(async () => {
        const v = sessionView(r);
        if (!isLive(r)) return v;
        const tree = await liveTree(r).catch(() => null);
        if (!tree) return v;
        const key = `${r.project}:${r.base.tree}:${tree}`;
        let s = summaries.get(key);
        if (!s) summaries.set(key, (s = summarize(await diffTrees(catalog.store(r.project), r.base.tree, tree))));
        return { ...v, changes: { ...s } };
      }),
    ),
  );
  return {
    sessions: views,
    total: all.length,
    limit,
    offset,
    next_offset: offset + page.length < all.length ? offset + page.length : null,
  };
}
