// Landing: seal the session, three-way merge it with the current head, move the head by compare-and-swap.
//
// The sealed session tree and its change list are computed once. On CAS contention only the head is
// re-read and the merge redone (a merge costs O(changes on both sides since the base), never O(tree)).
// Conflicts leave the session active, with nothing changed but its timeline, so the user can resolve them
// (in the mount, through the API, or with rebase) and land again.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { HeadRecord } from '../store/index.js';
import type { Catalog } from './catalog.js';
import type { SessionHost } from './host.js';
import { discardSessionDir } from './host.js';
import { drainUploads, sealAndRecord, sealOpen, type SealedTree } from './seal.js';
import { DomainError, InvalidStateError, StoreUnavailableError } from './errors.js';
import { UploadsPendingError } from '../store/upload-queue.js';
import { findLandedBy, FIRST_ATTEMPT_DEPTH } from './landed-by.js';
import { readTreeDoc, recordTree } from './tree-doc.js';
import { diffTrees, summarize, type TreeChange } from './changes.js';
import { mergeTrees, type Conflict } from './merge.js';
import { indexHead } from './blame-index.js';
import { saveLineCountsBehind } from './line-counts.js';
import type { SessionRecord } from './record.js';
import { addEvent, recordTreeChanges } from './timeline.js';
import { landTimer } from '../metrics/session-metrics.js';

export interface LandContext {
  catalog: Catalog;
  host: SessionHost;
  dataDir: string;
  /** how long a landing waits for an unreachable store, and for the uploads it needs (ms; default
   *  LAND_WAIT_MS; `mic serve --land-wait`) */
  landWaitMs?: number;
  /** the daemon's logger (rebase's rebuild logs its start, failure and swap); none: silent */
  log?: Logger;
}

export type LandOutcome =
  | { ok: true; record: SessionRecord; head: string; headRecord: HeadRecord; changes: TreeChange[]; attempts: number; timings: LandTimings }
  | { ok: false; record: SessionRecord; conflicts: Conflict[] };

/** Milliseconds spent in each phase of a landing (for benchmarks and logs). */
export interface LandTimings {
  seal: number;
  changes: number;
  merge: number;
  cas: number;
  finish: number;
}

export { addEvent } from './timeline.js';

const MAX_ATTEMPTS = 200;

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** How long a landing waits, by default, for an unreachable store (each wait: the holder check, the
 *  landing's reads and writes, the uploads it needs). */
export const LAND_WAIT_MS = 120_000;

/** The domain error for a failure because the store is away for now (isTransient: S3 down, 5xx), or its
 *  upload queue did not take what a landing needs in time; other errors as they are. */
export function unavailable(ctx: LandContext, e: unknown): unknown {
  if (e instanceof DomainError) return e;
  const again = 'nothing is lost: the session is as it was, land it again once the object store is back';
  if (e instanceof UploadsPendingError) return new StoreUnavailableError(`${e.message}; ${again}`, 'uploads_pending');
  if (ctx.catalog.backend.isTransient(e))
    return new StoreUnavailableError(`the object store is unreachable (${(e as Error).message}); ${again}`);
  return e;
}

/** Throws 409 (and stops serving it) unless this data dir still holds the session (see ownership.ts). A
 *  store that is unreachable for now (isTransient: S3 down, 5xx) is asked again with a growing pause for up
 *  to HOLDER_WAIT_MS, so that a landing begun as S3 went away completes once it is back. */
export async function ensureHeld(ctx: LandContext, r: SessionRecord, early?: LandAhead['holder']): Promise<void> {
  await whileUnreachable(ctx, async () => {
    const pre = early;
    early = undefined; // a second try reads anew
    try {
      await ctx.host.owners.check(r, pre);
    } catch (e) {
      if (e instanceof DomainError) ctx.host.close(r.session_id);
      throw e;
    }
  });
}

/**
 * Runs fn again while it fails because the store is unreachable for now (isTransient: S3 down, 5xx), with a
 * growing pause, for up to landWaitMs (then StoreUnavailableError): a landing begun as S3 went away completes
 * once it is back. Every
 * step of a landing can run again: the seal and its objects are the same, the timeline records a tree once,
 * and a head an earlier try moved is found (landed-by.ts) and finished rather than moved again.
 */
export async function whileUnreachable<T>(ctx: LandContext, fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + (ctx.landWaitMs ?? LAND_WAIT_MS);
  for (let pause = 100; ; pause = Math.min(pause * 2, 2000)) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof DomainError || !ctx.catalog.backend.isTransient(e)) throw e;
      if (Date.now() + pause > until) throw unavailable(ctx, e);
      await sleep(Math.min(pause, Math.max(0, until - Date.now())));
    }
  }
}

/** The bound on each wait for the store (ms): `--land-wait`, else LAND_WAIT_MS. Rebase and handoff wait
 *  for the same store as landing, so they take the same bound. */
export function landWait(ctx: LandContext): number {
  return ctx.landWaitMs ?? LAND_WAIT_MS;
}

/** The reads a landing of session id begins with, the project's head and the session's holder ref, begun
 *  before its record is read (round trips on S3 that need not wait for one another); null when this process
 *  does not know the session's project yet. Begun under the session's lock: a head that moves after the read
 *  is what the compare-and-swap catches, as it catches one that moves after any read, and the holder is read
 *  as late in the call as ensureHeld would (before the landing's first write). */
export interface LandAhead {
  project: string;
  head: Promise<Head | null>;
  holder: ReturnType<SessionHost['owners']['read']>;
}

export function landAhead(ctx: LandContext, id: string): LandAhead | undefined {
  const project = ctx.catalog.knownProject(id);
  if (!project) return undefined;
  const head = ctx.catalog.store(project).getHead();
  const holder = ctx.host.owners.read({ project, session_id: id });
  head.catch(() => {}); // a failure: the landing reads it itself
  holder.catch(() => {});
  return { project, head, holder };
}

/** Seal the live session (writes its blobs and trees, and sessions/<id>/tree.json). */
export async function sealLive(ctx: LandContext, r: SessionRecord): Promise<SealedTree> {
  const fs = await ctx.host.open(r);
  return sealAndRecord(fs, ctx.catalog.store(r.project), r, fence(ctx, r), ctx.landWaitMs ?? LAND_WAIT_MS);
}

/** Fencing before a write of the session's shared state: nothing while the lease is valid, else renew it
 *  or throw 409 (lease.ts). */
export function fence(ctx: LandContext, r: SessionRecord): () => Promise<void> {
  return async () => {
    if (!ctx.host.owners.leaseValid(r.session_id)) await ensureHeld(ctx, r);
  };
}

/** Land an active session. The caller holds the session's lock and has checked its status. */
/** via: how the changes not yet on the timeline came in ('api': files applied by this same call). ahead: the
 *  reads a landing begins with, begun by the caller under the session's lock (landAhead; none: read here). */
export async function landSession(
  ctx: LandContext,
  r: SessionRecord,
  message: string,
  via: 'api' | 'mount' = 'mount',
  ahead?: LandAhead,
): Promise<LandOutcome> {
  const store = ctx.catalog.store(r.project);
  const timings: LandTimings = { seal: 0, changes: 0, merge: 0, cas: 0, finish: 0 };
  let t = performance.now();
  const lap = (k: keyof LandTimings) => {
    const n = performance.now();
    timings[k] += n - t;
    t = n;
  };
  const live = await ctx.host.open(r);
  await live.freeze();
  // the head is read while the holder is asked and the session sealed (round trips on S3); a head that moves
  // after this read is what the compare-and-swap catches, as it catches one that moves after any read
  const mine = ahead?.project === r.project ? ahead : undefined;
  let early: Promise<Head | null> | null = mine?.head ?? store.getHead();
  early.catch(() => {}); // a failure: the attempt reads the head itself
  const headOf = async (): Promise<Head | null> => {
    const a = early;
    early = null;
    return (a && (await a.catch(() => null))) ?? store.getHead();
  };
  try {
    await ensureHeld(ctx, r, mine?.holder); // never land a session another daemon has taken over
    const done = landTimer();
    try {
      const o = await whileUnreachable(ctx, () => landFrozen(ctx, r, message, live, store, timings, lap, via, headOf));
      done(o.ok ? 'landed' : 'conflict', o.ok ? 0 : o.conflicts.length);
      return o;
    } catch (e) {
      done('error');
      throw unavailable(ctx, e); // a stuck upload queue (the head ref's barrier) is the store being away
    }
  } finally {
    live.thaw(); // only matters when the landing did not end the session
  }
}

async function landFrozen(
  ctx: LandContext,
  r: SessionRecord,
  message: string,
  live: Awaited<ReturnType<SessionHost['open']>>,
  store: ReturnType<Catalog['store']>,
  timings: LandTimings,
  lap: (k: keyof LandTimings) => void,
  via: 'api' | 'mount',
  headOf: () => Promise<Head | null>,
): Promise<LandOutcome> {
  let sealed: SealedTree | undefined;
  let changes: TreeChange[] = [];
  let triedOn: string | null = null; // the head the last attempt's CAS expected
  for (let attempt = 1; ; attempt++) {
    // One write batch per attempt (object-io.ts): the seal's blobs and trees (first attempt) and the merged
    // tree's nodes become durable in one round of fsyncs at its end, before anything names them.
    const step = await store.batch(async (): Promise<Step> => {
      if (!sealed) {
        sealed = await sealOpen(live, store);
        lap('seal');
        // what changed since the last recorded tree (saved with the outcome: landed, or conflicts)
        await recordTreeChanges(store, r, sealed.tree, { via });
        changes = await diffTrees(store, r.base.tree, sealed.tree);
        lap('changes');
      }
      return attemptOn(store, r, sealed, triedOn);
    });
    // a head must never name objects still queued for upload; a queue that takes none of them for landWaitMs
    // (the store away, or refusing them) fails the landing with StoreUnavailableError: nothing is lost
    await drainUploads(store, ctx.landWaitMs ?? LAND_WAIT_MS);
    if (attempt === 1) {
      // tree.json names only durable objects (written after the batch), and is durable before the CAS (a
      // daemon taking the session over must never start from a tree older than a head it landed)
      const doc = recordTree(store, r, sealed!);
      if (step.kind === 'cas') await Promise.all([doc, store.putHeadRecord(step.headRecord, true)]);
      else await doc;
    }
    if (step.kind === 'conflicts') return conflicted(ctx, r, step.conflicts, step.head);
    if (step.kind === 'done') {
      // an earlier landing of this session is simply finished
      await finishLanding(ctx, r, {
        head: step.mine.hash,
        headRecord: step.mine.record,
        sealed: sealed!,
        changes,
        message: step.mine.record.message,
      });
      lap('finish');
      return { ok: true, record: r, head: step.mine.hash, headRecord: step.mine.record, changes, attempts: attempt, timings };
    }
    lap('merge');
    const { H, headRecord } = step;
    const head = await store.putHeadRecord(headRecord, true); // durable already on the first attempt
    triedOn = H.hash;
    await fence(ctx, r)(); // renewed, or 409 (lease.ts)
    const won = await store.casHead(H.version, H.ref.generation, headRecord);
    lap('cas');
    if (won) {
      await finishLanding(ctx, r, { head, headRecord, sealed: sealed!, changes, message });
      lap('finish');
      return { ok: true, record: r, head, headRecord, changes, attempts: attempt, timings };
    }
    if (attempt >= MAX_ATTEMPTS) throw new Error(`landing ${r.session_id}: the head kept moving (${attempt} attempts)`);
    await sleep(Math.random() * Math.min(50, attempt * 2));
  }

  /** One attempt's plan against the current head (objects it writes go into the caller's batch). */
  async function attemptOn(
    store: ReturnType<Catalog['store']>,
    r: SessionRecord,
    sealed: SealedTree,
    triedOn: string | null,
  ): Promise<Step> {
    const H = await headOf();
    if (!H) throw new Error(`project ${r.project} has no head`);
    // an earlier landing of this session moved the head: its CAS was reported lost although it won (this
    // call's last attempt: landed-by.ts), or a crash stopped it before recording it (an earlier call)
    const mine = await findLandedBy(store, H, r.session_id, triedOn ?? r.base.head, triedOn ? undefined : FIRST_ATTEMPT_DEPTH);
    let tree: string, nextIno: number;
    if (mine) {
      // what the session changed since an interrupted landing goes on top; when nothing changed (always,
      // for this call's own attempt), that landing is simply finished
      const m = triedOn ? null : await afterEarlierLanding(store, r, sealed, mine, H);
      if (m?.conflicts.length) return { kind: 'conflicts', conflicts: m.conflicts, head: H.hash };
      if (!m || m.tree === H.record.tree) return { kind: 'done', mine };
      ({ tree, nextIno } = m);
    } else if (H.hash === r.base.head) {
      ({ tree, nextIno } = sealed);
    } else {
      const m = await mergeTrees(store, { tree: r.base.tree, nextIno: r.base.nextIno }, sealed, H.record);
      if (m.conflicts.length) return { kind: 'conflicts', conflicts: m.conflicts, head: H.hash };
      ({ tree, nextIno } = m);
    }
    const headRecord: HeadRecord = { tree, nextIno, parent: H.hash, session: r.session_id, message, time: new Date().toISOString() };
    return { kind: 'cas', H, headRecord };
  }
}

type Head = NonNullable<Awaited<ReturnType<ReturnType<Catalog['store']>['getHead']>>>;

type Step =
  | { kind: 'conflicts'; conflicts: Conflict[]; head: string }
  | { kind: 'done'; mine: { hash: string; record: HeadRecord } }
  | { kind: 'cas'; H: Head; headRecord: HeadRecord };

async function conflicted(ctx: LandContext, r: SessionRecord, conflicts: Conflict[], head: string): Promise<LandOutcome> {
  addEvent(r, { type: 'land_conflict', conflicts: conflicts.length, head });
  r.updated_at = new Date().toISOString();
  await ctx.catalog.update(r);
  return { ok: false, record: r, conflicts };
}

/** The session's tree merged onto the head H, above a head (mine) that an interrupted landing of this same
 *  session made. When that landing was a fast-forward (its parent is the session's base), its tree is what
 *  the session held then, so it is the merge base; otherwise the session's base is. */
async function afterEarlierLanding(
  store: ReturnType<Catalog['store']>,
  r: SessionRecord,
  sealed: SealedTree,
  mine: { record: HeadRecord },
  H: { record: HeadRecord },
): Promise<{ tree: string; nextIno: number; conflicts: Conflict[] }> {
  const B =
    mine.record.parent === r.base.head
      ? { tree: mine.record.tree, nextIno: mine.record.nextIno }
      : { tree: r.base.tree, nextIno: r.base.nextIno };
  return mergeTrees(store, B, sealed, H.record);
}

async function finishLanding(
  ctx: LandContext,
  r: SessionRecord,
  o: { head: string; headRecord: HeadRecord; sealed: SealedTree; changes: TreeChange[]; message: string },
): Promise<void> {
  const now = o.headRecord.time;
  // the head won its CAS: its blame index, written behind (the landing does not wait for it; an index not
  // written yet, failed or cut short by a crash is caught up or walked around by blame: blame-index.ts)
  void indexHead(ctx.catalog.store(r.project), o.head).catch(() => false);
  // and the line counts its change list shows (line-counts.ts), also behind
  saveLineCountsBehind(ctx.catalog.store(r.project), r.base.tree, o.sealed.tree, o.changes);
  addEvent(r, { type: 'status', from: r.status, status: 'landed', time: now });
  addEvent(r, { type: 'landed', head: o.head, message: o.message, time: now, tree: o.headRecord.tree });
  r.status = 'landed';
  r.landed_at = now;
  r.landed_head = o.head;
  r.sealed = { tree: o.sealed.tree, nextIno: o.sealed.nextIno };
  r.message = o.message;
  r.changes = summarize(o.changes);
  r.updated_at = now;
  // once the record (durable) holds the sealed tree, the local state is deleted, not made durable first
  await ctx.catalog.update(r, async () => {
    ctx.host.close(r.session_id, { discard: true }); // the directory goes next: no fdatasync on the event loop
    await discardSessionDir(ctx.dataDir, r.session_id);
  });
}

/** End a session without landing: its sealed tree is kept (so its changes stay visible), its export closed. */
export async function abandonSession(ctx: LandContext, r: SessionRecord): Promise<void> {
  const store = ctx.catalog.store(r.project);
  let live: Awaited<ReturnType<SessionHost['open']>> | undefined;
  try {
    live = await ctx.host.open(r);
    await live.freeze(); // nothing acknowledged after the seal: the state is dropped below
    const sealed = await sealAndRecord(live, store, r);
    r.sealed = sealed;
    r.changes = summarize(await diffTrees(store, r.base.tree, sealed.tree));
  } catch (e) {
    // another daemon serves it: abandon it there, or its export would outlive it
    if (e instanceof InvalidStateError && e.code === 'served_elsewhere') throw e;
    // handed off: its recorded tree is what it holds; otherwise a session whose filesystem cannot be
    // opened is abandoned all the same
    const doc = e instanceof InvalidStateError && e.code === 'handed_off' ? await readTreeDoc(store, r) : null;
    if (doc) {
      r.sealed = { tree: doc.tree, nextIno: doc.nextIno };
      r.changes = summarize(await diffTrees(store, r.base.tree, doc.tree));
    }
  }
  const now = new Date().toISOString();
  addEvent(r, { type: 'status', from: r.status, status: 'abandoned', time: now });
  r.status = 'abandoned';
  r.ended_at = now;
  r.updated_at = now;
  try {
    await ctx.catalog.update(r);
  } catch (e) {
    // not abandoned: the session goes on as it was (frozen, its clients would wait on JUKEBOX for good)
    live?.thaw();
    throw e;
  }
  ctx.host.close(r.session_id, { discard: true }); // the directory goes next: no fdatasync on the event loop
  await discardSessionDir(ctx.dataDir, r.session_id);
}
