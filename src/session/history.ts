// A project's history: its head, the log of heads, one head's changes, and which head last changed a
// path (blame). Read-only; heads are written by landing (land.ts).
import { EMPTY_TREE, isHash, type HeadRecord, type ObjectStore, type TreeEntry } from '../store/index.js';
import type { BlameBody, HeadBody, HeadView, LogBody, ShowBody } from './session-api.js';
import type { Catalog } from './catalog.js';
import { InvalidInputError, NotFoundError } from './errors.js';
import * as input from './input.js';
import { sessionView } from './record.js';
import { describeChanges, diffTrees, sameContent, summarize } from './changes.js';
import { getHeadIndex, indexHead, lookupIndex } from './blame-index.js';

const MAX_LOG = 1000;
const MAX_SHOW_CHANGES = 1000;
const MAX_BLAME_WALK = 100_000;

export class ProjectHistory {
  constructor(private readonly catalog: Catalog) {}

  async projectStore(project: string): Promise<ObjectStore> {
    const [org, name, ...rest] = project.split('/');
    if (rest.length || name === undefined) throw new InvalidInputError('project', 'must be "org/name"');
    return this.catalog.store(input.projectParam(org, name));
  }

  private async goalOf(session: string | null): Promise<string | null> {
    if (!session) return null;
    return (await this.catalog.get(session))?.goal ?? null;
  }

  async head(project: string): Promise<HeadBody> {
    const store = await this.projectStore(project);
    const h = await store.getHead();
    if (!h) throw new NotFoundError('project', `project ${project} not found`);
    return { project, head: headView(h.hash, h.record, await this.goalOf(h.record.session)) };
  }

  /** A head by full hash, "HEAD", or a prefix of at least 4 hex digits among the last 10 000 heads. */
  private async resolveHead(store: ObjectStore, ref: string): Promise<{ hash: string; record: HeadRecord }> {
    const cur = await store.getHead();
    if (!cur) throw new NotFoundError('project', `project ${store.project} not found`);
    if (ref === 'HEAD' || ref === '@') return { hash: cur.hash, record: cur.record };
    if (!/^[0-9a-f]{4,64}$/.test(ref)) throw new InvalidInputError('head', 'must be a head hash (or a prefix of 4+ hex digits) or HEAD');
    if (isHash(ref)) {
      try {
        return { hash: ref, record: await store.getHeadRecord(ref) };
      } catch {
        throw new NotFoundError('head', `head ${ref} not found`);
      }
    }
    let h: string | null = cur.hash;
    for (let i = 0; h && i < 10_000; i++) {
      const rec = await store.getHeadRecord(h);
      if (h.startsWith(ref)) return { hash: h, record: rec };
      h = rec.parent;
    }
    throw new NotFoundError('head', `no head ${ref} in the project's history`);
  }

  async log(project: string, q: { limit?: number | string; before?: string } = {}): Promise<LogBody> {
    const store = await this.projectStore(project);
    const limit = input.intParam(q.limit, 'limit', 50, 1, MAX_LOG);
    let h: string | null = q.before ? (await this.resolveHead(store, q.before)).hash : (await this.resolveHead(store, 'HEAD')).hash;
    const heads: HeadView[] = [];
    while (h && heads.length < limit) {
      const rec: HeadRecord = await store.getHeadRecord(h);
      const s = rec.session ? await this.catalog.get(rec.session) : null;
      const v = headView(h, rec, s?.goal ?? null);
      if (typeof s?.metadata.git_commit === 'string') v.git_commit = s.metadata.git_commit; // imported by import-git
      heads.push(v);
      h = rec.parent;
    }
    return { project, heads, next: h };
  }

  async showHead(project: string, ref: string): Promise<ShowBody> {
    const store = await this.projectStore(project);
    const { hash, record } = await this.resolveHead(store, ref);
    const parentTree = record.parent ? (await store.getHeadRecord(record.parent)).tree : EMPTY_TREE;
    const list = await diffTrees(store, parentTree, record.tree);
    const session = record.session ? await this.catalog.get(record.session) : null;
    return {
      project,
      head: headView(hash, record, session?.goal ?? null),
      session: session ? sessionView(session) : null,
      summary: summarize(list),
      changes: await describeChanges(store, list.slice(0, MAX_SHOW_CHANGES), { content: false }),
      truncated: list.length > MAX_SHOW_CHANGES,
    };
  }

  async blame(project: string, path: string): Promise<BlameBody> {
    const store = await this.projectStore(project);
    const parts = input.treePath(path, 'path');
    const cur = await store.getHead();
    if (!cur) throw new NotFoundError('project', `project ${project} not found`);
    const entry = await lookupPath(store, cur.record.tree, parts);
    if (!entry) throw new NotFoundError('path', `${parts.join('/')} is not in the head of ${project}`);
    const found = await lastChange(store, cur.hash, cur.record, parts, entry);
    const h = found.hash,
      rec = found.record;
    const session = rec.session ? await this.catalog.get(rec.session) : null;
    return {
      project,
      path: parts.join('/'),
      kind: entry.kind,
      head: headView(h, rec, session?.goal ?? null),
      session: session ? sessionView(session) : null,
      goal: session?.goal ?? null,
    };
  }
}

/**
 * The head that last changed the path (its entry differs from the one in the head's parent), starting at
 * `head` where the path's entry is `entry`. Uses the blame index (blame-index.ts) where heads have one,
 * the walk one head at a time where they do not; a damaged index falls back to the walk from the start.
 */
async function lastChange(
  store: ObjectStore,
  head: string,
  record: HeadRecord,
  parts: readonly string[],
  entry: TreeEntry,
): Promise<{ hash: string; record: HeadRecord }> {
  await indexHead(store, head).catch(() => false); // heads landed since (or before) the index: caught up, bounded
  let useIndex = true;
  let h = head,
    rec = record;
  for (let i = 0; i < MAX_BLAME_WALK; i++) {
    const idx = useIndex ? await getHeadIndex(store, h) : null;
    if (idx) {
      try {
        const changed = await lookupIndex(store, idx, parts);
        if (changed) {
          const r = await store.getHeadRecord(changed);
          if (sameContent(await lookupPath(store, r.tree, parts), entry)) return { hash: changed, record: r };
          throw new Error('blame index disagrees with the tree');
        }
        if (idx.base && idx.base !== h) {
          // unchanged since the chain's base: the walk goes on from there
          h = idx.base;
          rec = await store.getHeadRecord(h);
          continue;
        }
      } catch {
        useIndex = false; // a missing or damaged index: the plain walk from the start
        h = head;
        rec = record;
        continue;
      }
    }
    if (!rec.parent) break;
    const parent = await store.getHeadRecord(rec.parent);
    if (!sameContent(await lookupPath(store, parent.tree, parts), entry)) break;
    h = rec.parent;
    rec = parent;
  }
  return { hash: h, record: rec };
}

export function headView(hash: string, r: HeadRecord, goal?: string | null): HeadView {
  const v: HeadView = { hash, tree: r.tree, next_ino: r.nextIno, parent: r.parent, session: r.session, message: r.message, time: r.time };
  if (goal !== undefined) v.goal = goal;
  return v;
}

/** The entry at a path, reading one trie path per component. */
export async function lookupPath(store: ObjectStore, tree: string, parts: readonly string[]): Promise<TreeEntry | null> {
  let dir = tree;
  let e: TreeEntry | null = null;
  for (let i = 0; i < parts.length; i++) {
    e = await store.lookupDir(dir, parts[i]);
    if (!e) return null;
    if (i < parts.length - 1) {
      if (e.kind !== 'dir') return null;
      dir = e.hash ?? EMPTY_TREE;
    }
  }
  return e;
}
