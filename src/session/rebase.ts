// Rebase: move a session's base to the current head without landing it. The session is sealed and
// merged with everything landed since its base (as landing does, keeping the head's side of conflicts),
// then its filesystem is rebuilt on the new head holding exactly the merge's difference from it. Conflicted
// paths are left for the user (text with conflict markers, else one side kept) and reported with how each
// was left. Landing (land.ts) lands what the session then holds.
import { rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../util/pino-lazy.js';
import type { SessionState } from '../core/session-state.js';
import { crashPoint } from '../util/crash-point.js';
import { sessionDir } from './host.js';
import { openSessionState } from './fs-base.js';
import { markRebuilt, rebaseDirOf, swapInRebuilt } from './rebase-state.js';
import { sealAndRecord, sealOpen, type SealedTree } from './seal.js';
import { mergeTrees, type Conflict } from './merge.js';
import { applyTreeDiff } from './apply.js';
import { movedBaseInos } from './moved.js';
import { renumberHandles } from './renumbered.js';
import { dirAt, removeIn, writeFileIn } from '../core/path-edits.js';
import { isText } from './textdiff.js';
import { fsidFrom, type SessionRecord } from './record.js';
import { addEvent } from './timeline.js';
import { landWait, unavailable, whileUnreachable, type LandContext } from './land.js';

/** base inode numbers a session's record may withdraw from old handles (moved.ts); past it, a new fsid */
const MAX_REVOKED = 4096;
/** old handles a session's record may keep naming renumbered objects (renumbered.ts); past it, they are STALE */
const MAX_RENUMBERED = 4096;

export interface RebaseConflict extends Conflict {
  /** what rebase left in the session for the user: markers (text merged with <<<<<<< / >>>>>>>),
   *  session (the session's version kept), head (the head's version kept) */
  resolution: 'markers' | 'session' | 'head';
}

export interface RebaseOutcome {
  record: SessionRecord;
  from: string;
  to: string;
  conflicts: RebaseConflict[];
  rebased: boolean;
}

/**
 * Move the session's base to the current head. The session's changes are merged with everything landed
 * since its base; the session then holds exactly the merge's difference from the new head.
 *
 * Conflicted paths are left for the user: two text versions become one file with conflict markers
 * (<<<<<<< session / ======= / >>>>>>> head); otherwise the session's version is kept when it has one
 * (modify/modify of binary files, modify/delete) and the head's otherwise (delete/modify, dir/file).
 * Landing afterwards lands what the session then holds, markers included, so resolve them first.
 *
 * The session's filesystem is rebuilt on the new base under the same fsid, so a mount survives: handles of
 * objects of the base stay good (the number names the same object in the new head, or none: STALE), handles
 * of objects the session made are STALE (the rebuilt state may give their numbers to other files; handles.ts,
 * docs/architecture.md "Handles across a rebase").
 */
export async function rebaseSession(ctx: LandContext, r: SessionRecord): Promise<RebaseOutcome> {
  const store = ctx.catalog.store(r.project);
  // the store away (S3 down, its upload queue stuck) fails the rebase within --land-wait, as landing does,
  // with StoreUnavailableError; until the session's state is dropped below, nothing is changed
  const H = await whileUnreachable(ctx, () => store.getHead()).catch((e: unknown) => Promise.reject(unavailable(ctx, e)));
  if (!H) throw new Error(`project ${r.project} has no head`);
  const from = r.base.head;
  if (H.hash === r.base.head) return { record: r, from, to: H.hash, conflicts: [], rebased: false };
  // frozen from the seal on: a change acknowledged after it would be lost with the old state
  const live = await ctx.host.open(r);
  await live.freeze();
  let sealed: SealedTree, m: Awaited<ReturnType<typeof mergeTrees>>, moved: number[] | null;
  try {
    sealed = await sealAndRecord(live, store, r, undefined, landWait(ctx));
    const s = sealed;
    m = await whileUnreachable(ctx, () =>
      mergeTrees(store, { tree: r.base.tree, nextIno: r.base.nextIno }, s, H.record, { keepHeadOnConflict: true }),
    );
    moved = await whileUnreachable(ctx, () => movedBaseInos(store, r.base.tree, s.tree, r.base.nextIno, MAX_REVOKED));
  } catch (e) {
    live.thaw();
    throw unavailable(ctx, e);
  }

  // the new state is built beside the old one and swapped in once the record names it (rebase-state.ts):
  // a crash (or a failure) at any moment leaves the record and the state the session opens together, on the
  // old base with the old state or on the new head with the rebuilt one
  const dir = sessionDir(ctx.dataDir, r.session_id);
  const next = structuredClone(r);
  const t = Date.parse(H.record.time);
  const time: [number, number] = [Math.floor(t / 1000), (t % 1000) * 1e6];
  // the root's attributes carry the base's time, and a mounted client revalidates its cached listing by them:
  // two heads of one millisecond must still differ (< 1e9: the nanoseconds of a whole millisecond, plus one)
  if (time[0] === r.base.time[0] && time[1] === r.base.time[1]) time[1] += 1;
  next.base = { head: H.hash, tree: H.record.tree, nextIno: H.record.nextIno, time };
  next.epoch = (r.epoch ?? 0) + 1;
  let conflicts: RebaseConflict[];
  const side = rebaseDirOf(dir);
  let built: SessionState | undefined;
  const log = (ctx.log ?? silentLogger()).child({ session: r.session_id });
  log.info({ from, to: H.hash, conflicts: m.conflicts.length }, 'rebase: rebuilding the session on the new head');
  try {
    await rm(side, { recursive: true, force: true }); // of a rebase cut short
    built = await openSessionState(next, { catalog: ctx.catalog, dir: side, writeVerifier: randomBytes(8), log, claimed: 'mine' });
    conflicts = await rebuild(ctx, next, built, H.hash, H.record.tree, m);
    await keepFsid(ctx, r, next, sealed.tree, moved, built, conflicts);
    crashPoint('rebase-built');
    await built.durable();
    built.close();
    await markRebuilt(dir, next);
  } catch (e) {
    log.warn({ err: e, from, to: H.hash }, 'rebase: the rebuild failed; the session stays on its old base, unchanged');
    built?.close({ discard: true });
    await rm(side, { recursive: true, force: true });
    live.thaw(); // nothing changed: the session goes on on its old base
    throw unavailable(ctx, e);
  }
  next.updated_at = new Date().toISOString();
  try {
    await ctx.catalog.update(next);
  } catch (e) {
    // the record may have been written or not (a store that failed to answer): the session's next open
    // settles it from the record it reads then (settleRebase)
    log.warn({ err: e, to: H.hash }, 'rebase: writing the record failed; the next open settles the session from the record it reads');
    ctx.host.close(r.session_id);
    throw unavailable(ctx, e);
  }
  crashPoint('rebase-recorded');
  // the old state is replaced right away; its clients get JUKEBOX meanwhile and go on on the rebuilt one
  ctx.host.close(r.session_id, { discard: true, reopening: true });
  await swapInRebuilt(dir);
  log.info({ from, to: H.hash, conflicts: conflicts.length, epoch: next.epoch }, 'rebase: the rebuilt state is swapped in');
  await ctx.host.open(next).catch((e: unknown) => log.warn({ err: e }, 'rebase: reopening the session failed; its next use opens it'));
  return { record: next, from, to: H.hash, conflicts, rebased: true };
}

/**
 * The export keeps its fsid, so the mount survives, unless the session moved too many of its base's objects to
 * withdraw their numbers one by one (moved.ts): then a new fsid, every old handle STALE. Handles of the objects
 * the rebuilt state renumbered go on naming them (renumbered.ts), within MAX_RENUMBERED; past it they are STALE.
 */
async function keepFsid(
  ctx: LandContext,
  r: SessionRecord,
  next: SessionRecord,
  sealed: string,
  moved: number[] | null,
  built: SessionState,
  conflicts: RebaseConflict[],
): Promise<void> {
  const from = fsidFrom(r);
  const revoked = new Set(from.revoked ?? []);
  for (const ino of moved ?? []) revoked.add(ino);
  const ren = moved
    ? await renumberHandles({
        store: ctx.catalog.store(r.project),
        base: { tree: r.base.tree, nextIno: r.base.nextIno },
        sealed,
        epoch: r.epoch ?? 0,
        from,
        moved: new Set(moved),
        built,
        conflicts: new Map(conflicts.map((c) => [c.path, c.resolution === 'head'])),
        limit: MAX_RENUMBERED,
      })
    : null;
  for (const ino of ren?.revoke ?? []) revoked.add(ino);
  if (!ren || revoked.size > MAX_REVOKED) {
    delete next.fsid_from;
    return;
  }
  next.fsid_from = { epoch: from.epoch, nextIno: from.nextIno, revoked: [...revoked].sort((a, b) => a - b) };
  if (ren.renumbered?.length) next.fsid_from.renumbered = ren.renumbered;
}

/** Applies to the state opened on the new base (r.base) the merge's difference from it. */
async function rebuild(
  ctx: LandContext,
  r: SessionRecord,
  fs: SessionState,
  head: string,
  headTree: string,
  m: Awaited<ReturnType<typeof mergeTrees>>,
): Promise<RebaseConflict[]> {
  const store = ctx.catalog.store(r.project);
  await applyTreeDiff(fs, store, fs.root, headTree, m.tree, r.owner);
  crashPoint('rebase-rebuilding'); // half-built: the difference applied, the conflicts not yet

  const conflicts: RebaseConflict[] = [];
  for (const c of m.conflicts) {
    let resolution: RebaseConflict['resolution'] = 'head';
    const parts = c.path.split('/');
    if (c.session?.kind === 'file' && c.head?.kind === 'file') {
      const [sb, hb] = await Promise.all([store.getBlob(c.session.hash!), store.getBlob(c.head.hash!)]);
      const dir = await dirAt(fs, parts.slice(0, -1), r.owner, true);
      // a new object (fresh number): the head's object under the name is not the session's, nor the merge
      // of both (the session may have replaced its file), so its handles must not name the result
      await removeIn(fs, dir!, parts[parts.length - 1]);
      if (isText(sb) && isText(hb)) {
        await writeFileIn(
          fs,
          dir!,
          parts[parts.length - 1],
          conflictMarkers(sb.toString('utf8'), hb.toString('utf8'), head),
          c.session.mode,
          r.owner,
        );
        resolution = 'markers';
      } else {
        await writeFileIn(fs, dir!, parts[parts.length - 1], sb, c.session.mode, r.owner);
        resolution = 'session';
      }
    } else if (c.session?.kind === 'file' && !c.head) {
      const dir = await dirAt(fs, parts.slice(0, -1), r.owner, true);
      await writeFileIn(fs, dir!, parts[parts.length - 1], await store.getBlob(c.session.hash!), c.session.mode, r.owner);
      resolution = 'session';
    }
    conflicts.push({ ...c, resolution });
  }
  addEvent(r, { type: 'rebased', head, conflicts: conflicts.length, tree: (await sealOpen(fs, store)).tree });
  return conflicts;
}

function conflictMarkers(session: string, head: string, headHash: string): Buffer {
  const nl = (s: string) => (s === '' || s.endsWith('\n') ? s : s + '\n');
  return Buffer.from(`<<<<<<< session\n${nl(session)}=======\n${nl(head)}>>>>>>> head ${headHash.slice(0, 12)}\n`, 'utf8');
}
