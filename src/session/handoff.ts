// Handing a live session from one daemon (data dir) to another on the same store.
//   handoff: freeze, seal, wait for uploads, record tree.json, close the export (clients get STALE),
//            drop the local state, release the holder ref. A daemon killed after the record was written and
//            before the release finds the session still held by itself, its record saying handed off: on
//            start-up it hands the session off again (settleHandoffs), so no other daemon needs --force.
//            A release that fails (the store away past --land-wait, a write error) is retried in the
//            background (Ownership.releaseLater) and the handoff answers 503 release_pending, saying so.
//   serve:   claim the holder ref (a handed-off session, or with force one held elsewhere) and open the
//            state on the recorded tree (fs-base.ts). Landing still merges against r.base.
import { rm } from 'node:fs/promises';
import type { SessionState } from '../core/session-state.js';
import { sessionDir } from './host.js';
import { addEvent, ensureHeld, fence, landWait, unavailable, whileUnreachable, type LandContext } from './land.js';
import { DomainError, StoreUnavailableError } from './errors.js';
import { silentLogger } from '../util/pino-lazy.js';
import { sealAndRecord, type SealedTree } from './seal.js';
import { diffTrees, summarize } from './changes.js';
import type { SessionRecord, TimelineEvent } from './record.js';
import { crashPoint } from '../util/crash-point.js';

/** The caller holds the session's lock and has checked that it is live. */
export async function handoffSession(ctx: LandContext, r: SessionRecord): Promise<SealedTree> {
  const fs = await ctx.host.open(r, 'mine');
  await fs.freeze();
  try {
    await ensureHeld(ctx, r);
    const store = ctx.catalog.store(r.project);
    // the uploads and reads wait for the store at most --land-wait, as landing does (StoreUnavailableError:
    // the session stays served here, unchanged, and can be handed off again once the store is back)
    const sealed = await sealAndRecord(fs, store, r, fence(ctx, r), landWait(ctx));
    const last = lastMove(r);
    // a handoff redone after a crash (handoffPending) with nothing changed since: recorded once
    if (!(last?.type === 'handed_off' && last.node === ctx.host.owners.node && last.tree === sealed.tree)) {
      r.changes = summarize(await whileUnreachable(ctx, () => diffTrees(store, r.base.tree, sealed.tree)));
      // the holder ref's generation it releases: a take back here (a new generation) is then not read as a
      // handoff a crash cut short (handoffPending)
      const generation = ctx.host.owners.leases.get(r.session_id)?.generation;
      addEvent(r, {
        type: 'handed_off',
        node: ctx.host.owners.node,
        tree: sealed.tree,
        ...(generation !== undefined ? { generation } : {}),
      });
      r.epoch = (r.epoch ?? 0) + 1; // handles of this stay go STALE should it come back here:
      delete r.fsid_from; // a new fsid (the state it comes back to is opened on the recorded tree)
      r.updated_at = new Date().toISOString();
      await ctx.catalog.update(r);
    }
    crashPoint('handoff-recorded');
    ctx.host.close(r.session_id);
    await rm(sessionDir(ctx.dataDir, r.session_id), { recursive: true, force: true });
    await release(ctx, r, sealed.tree);
    return sealed;
  } catch (e) {
    throw unavailable(ctx, e);
  } finally {
    fs.thaw();
  }
}

/** The last step of a handoff: the holder ref says nobody holds the session. One that fails once the store
 *  has been waited for is retried in the background, and the caller told (503 release_pending). */
async function release(ctx: LandContext, r: SessionRecord, tree: string): Promise<void> {
  try {
    await whileUnreachable(ctx, () => ctx.host.owners.release(r, tree));
  } catch (e) {
    if (e instanceof DomainError && !(e instanceof StoreUnavailableError)) throw e; // held elsewhere: not ours to release
    const log = (ctx.log ?? silentLogger()).child({ session: r.session_id });
    log.warn({ err: e }, 'handoff: the holder release failed; retrying in the background');
    ctx.host.owners.releaseLater(r, tree, log);
    throw new StoreUnavailableError(
      `session ${r.session_id} is handed off (its tree recorded, its export closed here) but its holder could not be released ` +
        `(${(e as Error).message}); it is retried in the background until it is done, and by the next daemon start or CLI ` +
        `command on this data directory; any daemon serves the session without --force from then on`,
      'release_pending',
    );
  }
}

/** The session's last handed_off or served event: where the timeline says it went last. */
function lastMove(r: SessionRecord): TimelineEvent | undefined {
  const tl = r.timeline ?? [];
  for (let i = tl.length - 1; i >= 0; i--) if (tl[i].type === 'handed_off' || tl[i].type === 'served') return tl[i];
  return undefined;
}

/** True when the session's holder ref names this daemon, at the generation it released, though its record
 *  says this daemon handed it off last: a handoff cut short between its record and the release of the holder
 *  ref (a crash). Nothing is lost (the state is here and its tree recorded); handing it off again finishes it
 *  (settleHandoffs). A session taken back here since (a mount, mic session serve) has a newer generation. */
export async function handoffPending(ctx: LandContext, r: SessionRecord): Promise<boolean> {
  const last = lastMove(r);
  if (last?.type !== 'handed_off' || last.node !== ctx.host.owners.node) return false;
  const cur = await ctx.host.owners.read(r);
  if (cur?.doc.holder !== ctx.host.owners.node) return false;
  return last.generation === undefined || (cur.doc.generation ?? 0) === last.generation;
}

export interface ServeOutcome {
  fs: SessionState;
  previous: string | null;
  tookOver: boolean;
  tree: string;
}

/** Serve the session here. The caller holds the session's lock and has checked that it is live. */
export async function serveSession(ctx: LandContext, r: SessionRecord, force: boolean): Promise<ServeOutcome> {
  const node = ctx.host.owners.node;
  const previous = await ctx.host.owners.holder(r);
  if (previous !== node) ctx.host.close(r.session_id); // open here from an earlier stay: out of date
  const fs = await ctx.host.open(r, force ? 'force' : 'take');
  const tookOver = previous !== node;
  // served again here after a handoff (its release done, or still pending and cancelled by the claim): the
  // record says so
  const last = lastMove(r);
  if (tookOver || (last?.type === 'handed_off' && last.node === node)) {
    // the tree this daemon's view starts from: named in the record, so gc keeps it while the session lives
    addEvent(r, { type: 'served', node, tree: fs.start.tree });
    r.updated_at = new Date().toISOString();
    await ctx.catalog.update(r);
  }
  return { fs, previous, tookOver, tree: fs.start.tree };
}
