// The session service: every operation of the API, in-process. The HTTP server routes to it, and the
// CLI calls it directly when no daemon serves the data directory. Inputs are validated here (InvalidInputError naming
// the field), each session's operations are serialised, and results are the API's response bodies. What a
// session says about itself (conversation, decisions, patch, interactions) is in session-annotations.ts.
import type {
  BlameBody,
  ChangesBody,
  CreateRequest,
  DiffBody,
  FilesBody,
  HeadBody,
  HandoffBody,
  LandBody,
  LandRequest,
  ListBody,
  ListQuery,
  LogBody,
  RebaseBody,
  ServeBody,
  ServeRequest,
  SessionApi,
  SessionBody,
  SessionDetailBody,
  ShowBody,
  StartRequest,
} from './session-api.js';
import type { CurrentBody, DeleteBody } from './session-api.js';
import type { SessionServiceOptions } from './session-service-base.js';
import { SessionAnnotations } from './session-annotations.js';
import { DomainError, InvalidInputError, InvalidStateError } from './errors.js';
import * as input from './input.js';
import { exportPath, isLive, sessionDetail, sessionView, type SessionRecord, type SessionView } from './record.js';
import type { MountNotice } from './exports.js';
import { parseLand, parseStart, noFields, CREATE_FIELDS } from './requests.js';
import { deleteSession, failSession, purgeSession, resumeSession, suspendSession } from './lifecycle.js';
import { listSessions } from './session-list.js';
import { readSessionConfig, writeSessionConfig, type SessionConfig } from './session-config.js';
import { CurrentSessions } from './current-sessions.js';
import { addEvent, abandonSession, ensureHeld, fence, landAhead, unavailable } from './land.js';
import { rebaseSession } from './rebase.js';
import { handoffPending, handoffSession, serveSession } from './handoff.js';
import { readTreeDoc } from './tree-doc.js';
import { ProjectHistory } from './history.js';
import { lastSeal, sealAndRecord } from './seal.js';
import { loadLineCounts } from './line-counts.js';
import { describeChanges, diffText, diffTrees, summarize } from './changes.js';
import { withWorkingDirectory } from './working-directories.js';

export type { SessionServiceOptions };

export class SessionService extends SessionAnnotations implements SessionApi {
  readonly history: ProjectHistory;
  private readonly current: CurrentSessions;

  constructor(o: SessionServiceOptions) {
    super(o);
    this.history = new ProjectHistory(o.catalog);
    this.current = new CurrentSessions(o.catalog.backend);
  }

  async start(raw: StartRequest | unknown): Promise<SessionBody> {
    const { opts, extra } = parseStart(await withWorkingDirectory(this.o.catalog, raw));
    const r = await this.doStart(opts, extra);
    if (isLive(r)) await this.o.host.open(r).catch(() => {}); // serve the export right away when a daemon runs
    return { session: sessionView(r) };
  }

  /** Start, apply, land: all or nothing. A refusal after the start (a file that does not fit the tree, a
   *  conflict) purges the session, so that nothing is left behind and the same id can be sent again. */
  async create(raw: CreateRequest | unknown): Promise<SessionBody> {
    const { opts, extra, b } = parseStart(await withWorkingDirectory(this.o.catalog, raw), CREATE_FIELDS);
    const files = input.files(b.files);
    const { message } = parseLand(opts.sessionId ?? '', { message: b.message, commit_message: b.commit_message });
    const r = await this.doStart(opts, extra);
    return this.locked(r.session_id, async () => {
      try {
        await this.applyTo(r, files, 'files', true);
        const out = await this.landLocked(r, message ?? opts.goal, files.length ? 'api' : 'mount');
        return { session: out.session };
      } catch (e) {
        // a refusal (4xx) leaves nothing; a purge that fails says so (500) rather than leave a session silently
        if (r.status !== 'landed' && e instanceof DomainError) await purgeSession(this.ctx, r);
        throw e;
      }
    });
  }

  // ---------------------------------------------------------------- reading

  async list(q: ListQuery | Record<string, string | number | undefined> = {}): Promise<ListBody> {
    return listSessions(this.o.catalog, q as Record<string, string | number | undefined>, (r) => this.listedTree(r));
  }

  /** A live session's tree as listings show it, without sealing (session-list.ts): its last seal here, else
   *  its recorded tree.json; null when neither is known (its base). */
  async listedTree(r: SessionRecord): Promise<string | null> {
    const fs = this.o.host.served(r.session_id);
    const last = fs ? lastSeal(fs) : null;
    if (last) return last.tree;
    return (await readTreeDoc(this.o.catalog.store(r.project), r))?.tree ?? null;
  }

  async get(id: string): Promise<SessionDetailBody> {
    const r = await this.record(id);
    const d = sessionDetail(r);
    if (isLive(r)) {
      d.served_by = await this.o.host.owners.holder(r);
      try {
        d.changes = summarize(await diffTrees(this.o.catalog.store(r.project), r.base.tree, await this.sessionTree(r)));
      } catch (e) {
        if (!(e instanceof DomainError)) throw e; // the filesystem cannot be opened here: the stored summary stands
      }
    }
    return { session: d };
  }

  async changes(id: string, q: { content?: boolean | string } = {}): Promise<ChangesBody> {
    const content = input.boolParam(q.content, 'content', true);
    return this.locked(id, async () => {
      const r = await this.record(id);
      const store = this.o.catalog.store(r.project);
      const tree = await this.sessionTree(r);
      // an ended session's line counts were saved behind its landing (or its first listing): line-counts.ts
      const [list] = await Promise.all([diffTrees(store, r.base.tree, tree), !isLive(r) && loadLineCounts(store, r.base.tree, tree)]);
      return {
        session_id: r.session_id,
        base_tree: r.base.tree,
        tree,
        summary: summarize(list),
        changes: await describeChanges(store, list, { content }),
      };
    });
  }

  async diff(id: string): Promise<DiffBody> {
    return this.locked(id, async () => {
      const r = await this.record(id);
      const store = this.o.catalog.store(r.project);
      const list = await diffTrees(store, r.base.tree, await this.sessionTree(r));
      return { session_id: r.session_id, summary: summarize(list), diff: await diffText(store, list) };
    });
  }

  // ---------------------------------------------------------------- per project: session types and agents

  sessionConfig(project: string): Promise<SessionConfig> {
    return readSessionConfig(this.o.catalog, input.projectParam(...(project.split('/') as [string, string])));
  }
  setSessionConfig(project: string, raw: unknown): Promise<SessionConfig> {
    return writeSessionConfig(this.o.catalog, input.projectParam(...(project.split('/') as [string, string])), raw);
  }

  // ---------------------------------------------------------------- the caller's current session (seed 004)

  async getCurrent(user = 'anonymous'): Promise<CurrentBody> {
    const doc = await this.current.get(user);
    const r = doc ? await this.o.catalog.get(doc.session_id) : null;
    return { session_id: r ? doc!.session_id : null, session: r ? sessionView(r) : null };
  }
  async setCurrent(raw: unknown, user = 'anonymous'): Promise<CurrentBody> {
    const b = input.body(raw);
    input.known(b, ['session_id']);
    if (b.session_id === null) {
      await this.current.set(user, null);
      return { session_id: null, session: null };
    }
    const id = input.str(b, 'session_id', { required: true, max: 64 })!;
    const r = await this.record(id);
    await this.current.set(user, id);
    return { session_id: id, session: sessionView(r) };
  }

  // ---------------------------------------------------------------- status

  private status(id: string, raw: unknown, fn: (r: SessionRecord) => Promise<void>): Promise<SessionBody> {
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.mutable(r);
      await fn(r);
      return { session: sessionView(r) };
    });
  }
  suspend(id: string, raw?: unknown): Promise<SessionBody> {
    noFields(raw);
    return this.status(id, raw, (r) => suspendSession(this.ctx, r));
  }
  resume(id: string, raw?: unknown): Promise<SessionBody> {
    noFields(raw);
    return this.status(id, raw, (r) => resumeSession(this.ctx, r));
  }
  abandon(id: string, raw?: unknown): Promise<SessionBody> {
    noFields(raw);
    return this.status(id, raw, (r) => abandonSession(this.ctx, r));
  }
  /** the agent gave up: {reason} */
  fail(id: string, raw?: unknown): Promise<SessionBody> {
    const b = input.body(raw);
    input.known(b, ['reason']);
    const reason = input.str(b, 'reason', { max: 4096 }) ?? '';
    return this.status(id, raw, (r) => failSession(this.ctx, r, reason));
  }
  /** DELETE: abandon a live session and free its local data; 409 for a landed one */
  async remove(id: string, raw?: unknown): Promise<DeleteBody> {
    noFields(raw);
    return this.locked(id, async () => {
      const r = await this.record(id);
      await deleteSession(this.ctx, r);
      return { deleted: true, session: sessionView(r) };
    });
  }

  // ---------------------------------------------------------------- changing files, landing

  async files(id: string, raw: { files: unknown } | unknown): Promise<FilesBody> {
    const b = input.body(raw);
    input.known(b, ['files']);
    if (b.files === undefined || b.files === null) throw new InvalidInputError('files', 'is required');
    const files = input.files(b.files);
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.active(r, 'change its files');
      await this.applyTo(r, files);
      return { session: sessionView(r), applied: files.length };
    });
  }

  async land(id: string, raw: LandRequest | unknown = {}): Promise<LandBody> {
    const { message, files, msgs, decs, meta } = parseLand(id, raw);
    // the store away for now (its record unreadable, its uploads stuck): 503, and the session can land later
    return this.landOrUnavailable(id, async () => {
      const ahead = landAhead(this.ctx, id); // the head and holder read while the record is
      const r = await this.record(id);
      if (r.status === 'landed')
        throw new InvalidStateError(
          `session ${id} has already landed (head ${r.landed_head?.slice(0, 12)}); a landed session is immutable`,
          { session: sessionView(r) },
        );
      this.active(r, 'land it');
      for (const m of msgs) {
        r.conversation.push(m);
        addEvent(r, { type: 'conversation', role: m.role, time: m.time });
      }
      for (const d of decs) {
        r.decisions.push(d);
        addEvent(r, { type: 'decision', decision: d.decision, time: d.time });
      }
      input.metadata(Object.assign(r.metadata, meta), 'metadata'); // the merged metadata within the limit too
      await this.applyTo(r, files, 'files', true);
      if (msgs.length || decs.length || Object.keys(meta).length) await this.save(r);
      return this.landLocked(r, message ?? r.goal, files.length ? 'api' : 'mount', ahead);
    });
  }
  private landOrUnavailable<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locked(id, fn).catch((e: unknown) => Promise.reject(unavailable(this.ctx, e)));
  }

  async rebase(id: string, raw?: unknown): Promise<RebaseBody> {
    noFields(raw);
    // the store away fails it within --land-wait with StoreUnavailableError, as landing does
    return this.landOrUnavailable(id, async () => {
      const r = await this.record(id);
      this.active(r, 'rebase it');
      const out = await rebaseSession(this.ctx, r);
      return { session: sessionView(out.record), from: out.from, to: out.to, rebased: out.rebased, conflicts: out.conflicts };
    });
  }

  // ---------------------------------------------------------------- handoff between daemons

  async handoff(id: string, raw?: unknown): Promise<HandoffBody> {
    noFields(raw);
    return this.landOrUnavailable(id, async () => {
      const r = await this.record(id);
      if (!isLive(r))
        throw new InvalidStateError(`session ${id} is ${r.status}; only a live session can be handed off`, { session: sessionView(r) });
      const sealed = await handoffSession(this.ctx, r);
      return { session: sessionView(r), tree: sealed.tree, handed_off_by: this.o.host.owners.node };
    });
  }

  /** At start-up: finishes every handoff of this daemon that a crash cut short after its record was written
   *  (handoff.ts handoffPending), so that another daemon takes the session without --force. One that cannot
   *  be finished now (the store away) stays served here, as it was, and is logged. `ids`: the sessions to
   *  look at (the daemon: those it opened at start-up; default every live one). Returns the ids settled. */
  async settleHandoffs(ids?: string[]): Promise<string[]> {
    const done: string[] = [];
    for (const id of ids ?? (await this.o.catalog.liveIds())) {
      try {
        const settled = await this.landOrUnavailable(id, async () => {
          const r = await this.o.catalog.get(id);
          if (!r || !isLive(r) || !(await handoffPending(this.ctx, r))) return false;
          await handoffSession(this.ctx, r);
          return true;
        });
        if (settled) {
          done.push(id);
          this.o.log?.info({ session: id }, 'handoff cut short by a crash finished: the session is released');
        }
      } catch (e) {
        this.o.log?.warn({ session: id, err: e }, 'handoff cut short by a crash could not be finished; the session stays served here');
      }
    }
    return done;
  }

  async serve(id: string, raw: ServeRequest | unknown = {}): Promise<ServeBody> {
    const b = input.body(raw);
    input.known(b, ['force']);
    const force = input.boolParam(b.force as boolean | string | undefined, 'force', false);
    return this.locked(id, async () => {
      const r = await this.record(id);
      if (!isLive(r))
        throw new InvalidStateError(`session ${id} is ${r.status}; only a live session can be served`, { session: sessionView(r) });
      const out = await serveSession(this.ctx, r, force);
      return {
        session: sessionView(r),
        served_by: this.o.host.owners.node,
        previous: out.previous,
        took_over: out.tookOver,
        tree: out.tree,
      };
    });
  }

  /** The daemon's background sealer: seal a session served here and record its tree.json.
   *  False when it is not served here (any more) or not live. */
  async sealServed(id: string): Promise<boolean> {
    return this.locked(id, async () => {
      const fs = this.o.host.served(id);
      if (!fs) return false;
      const r = await this.record(id);
      if (!isLive(r)) return false;
      await ensureHeld(this.ctx, r);
      await sealAndRecord(fs, this.o.catalog.store(r.project), r, fence(this.ctx, r), this.ctx.landWaitMs);
      return true;
    });
  }

  /** A client mounted or unmounted the session's export (SessionExports.onMount): a timeline event, and a
   *  session event for the open streams (/api/events, the pages). An ended session records nothing. */
  async recordMount(m: MountNotice): Promise<void> {
    let project: string | null = null;
    try {
      await this.locked(m.session, async () => {
        const r = await this.record(m.session);
        project = r.project;
        if (!isLive(r)) return;
        await ensureHeld(this.ctx, r);
        const root = exportPath(m.session);
        const dir = m.path.startsWith(`${root}/`) ? { path: m.path.slice(root.length + 1) } : {};
        addEvent(r, { type: m.action, client: m.client, actor: null, ...dir, ...(m.reason ? { reason: m.reason } : {}) });
        await this.save(r);
      });
    } finally {
      // the mount happened whether or not its record could be written
      if (project !== null) {
        const time = new Date().toISOString();
        const how = m.reason ? { reason: m.reason } : {};
        this.o.catalog.events.emit({
          type: 'mount',
          session: m.session,
          project,
          action: m.action,
          client: m.client,
          path: m.path,
          time,
          ...how,
        });
      }
    }
  }

  // ---------------------------------------------------------------- project history (history.ts)

  head(project: string): Promise<HeadBody> {
    return this.history.head(project);
  }
  log(project: string, q: { limit?: number | string; before?: string } = {}): Promise<LogBody> {
    return this.history.log(project, q);
  }
  showHead(project: string, ref: string): Promise<ShowBody> {
    return this.history.showHead(project, ref);
  }
  blame(project: string, path: string): Promise<BlameBody> {
    return this.history.blame(project, path);
  }
}

export type { SessionView };
