// A session's timeline (seed 004 getTimeline): one event per fact, in the order the facts were recorded.
// Every event has a sequence number one above the one before it, and a time never earlier than the one
// before it (a time given by a client, e.g. a conversation message's, is raised to keep the order).
//
// File events are the differences between two consecutive trees of the session: each one carries the
// tree after it (`tree`), which can be mounted read-only (/exports/projects/<org>/<name>/trees/<hash>).
// Files applied through the API are recorded when they are applied (via "api", the caller as actor), or by
// the landing of the same call (POST /api/sessions, land with files: its seal records them, so nothing is
// uploaded before the landing starts); changes made through the mount are found by the next seal that
// records (before the next API change, or at landing: via "mount"). Change types are the tree's own (diffTrees), never the declared ones.
import type { ObjectStore } from '../store/index.js';
import { currentActor } from './actor.js';
import { diffTrees } from './changes.js';
import { sealOpen } from './seal.js';
import type { SessionState } from '../core/session-state.js';
import type { SessionRecord, TimelineEvent } from './record.js';

/** At most this many file events are added for one step. */
export const TIMELINE_FILES = 1000;

/** Events whose `tree` is the session's tree with every change before it recorded as file events
 *  (handed_off and served name a tree too, but changes made through the mount before them may not be). */
const TREE_EVENTS = new Set<TimelineEvent['type']>(['file', 'rebased']);

function ms(t: string): number {
  const v = Date.parse(t);
  return Number.isFinite(v) ? v : 0;
}

/** Appends an event: the next sequence number, the caller as actor, a time no earlier than the last. */
export function addEvent(r: SessionRecord, e: Omit<TimelineEvent, 'time' | 'seq'> & { time?: string }): TimelineEvent {
  const tl = (r.timeline ??= []);
  const last = tl[tl.length - 1];
  let time = e.time ?? new Date().toISOString();
  if (last && ms(time) < ms(last.time)) time = last.time;
  const actor = e.actor !== undefined ? e.actor : currentActor();
  const ev = { ...e, time, seq: (last ? (last.seq ?? tl.length) : 0) + 1, ...(actor ? { actor } : {}) } as TimelineEvent;
  if (!actor) delete ev.actor;
  tl.push(ev);
  return ev;
}

/** The tree the session held after its last recorded event that names one (its base before any). */
export function lastRecordedTree(r: SessionRecord): string {
  const tl = r.timeline ?? [];
  for (let i = tl.length - 1; i >= 0; i--) {
    const e = tl[i];
    if (e.tree && TREE_EVENTS.has(e.type)) return e.tree;
  }
  return r.base.tree;
}

/** Records the differences between the last recorded tree and `tree` as file events; returns how many. */
export async function recordTreeChanges(
  store: ObjectStore,
  r: SessionRecord,
  tree: string,
  o: { via: 'api' | 'mount'; time?: string },
): Promise<number> {
  const from = lastRecordedTree(r);
  if (from === tree) return 0;
  const changes = await diffTrees(store, from, tree);
  for (const c of changes.slice(0, TIMELINE_FILES)) {
    // a change seen through the mount happened when the file was written (its mtime), as far as order allows
    const m = c.after?.mtime;
    const time = o.time ?? (o.via === 'mount' && m ? new Date(m[0] * 1000 + Math.floor(m[1] / 1e6)).toISOString() : undefined);
    addEvent(r, {
      type: 'file',
      path: c.path,
      change_type: c.change_type,
      via: o.via,
      tree,
      ...(o.via === 'mount' ? { actor: null } : {}),
      ...(time ? { time } : {}),
    });
  }
  return changes.length;
}

/** Runs `apply` (an API change of the session's files), recording first what the mount changed since the
 *  last recorded tree, then what `apply` changed, unless a landing follows in the same call and records it. */
export async function recordApplied(
  store: ObjectStore,
  r: SessionRecord,
  s: SessionState,
  apply: () => Promise<void>,
  landing: boolean,
): Promise<void> {
  await recordTreeChanges(store, r, (await sealOpen(s, store)).tree, { via: 'mount' });
  await apply();
  if (!landing) await recordTreeChanges(store, r, (await sealOpen(s, store)).tree, { via: 'api' });
}

/** The timeline as the API shows it: events of records written before sequence numbers get them by position. */
export function timelineOf(r: SessionRecord): TimelineEvent[] {
  return (r.timeline ?? []).map((e, i) => (e.seq === undefined ? { ...e, seq: i + 1 } : e));
}
