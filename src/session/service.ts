// The session service: every operation of the API, in-process. The HTTP server routes to it, and the
// CLI calls it directly when no daemon serves the data directory. Inputs are validated here (InvalidInputError naming
// the field), each session's operations are serialised, and results are the API's response bodies.
import type {
  BlameBody,
  ChangesBody,
  ConversationRequest,
  CreateRequest,
  DecisionsRequest,
  DiffBody,
  FilesBody,
  HeadBody,
  HandoffBody,
  LandBody,
  LandRequest,
  ListBody,
  ListQuery,
  LogBody,
  PatchRequest,
  RebaseBody,
  ServeBody,
  ServeRequest,
  SessionApi,
  SessionBody,
  SessionDetailBody,
  ShowBody,
  StartRequest,
} from './session-api.js';
import type { Catalog } from './catalog.js';
import type { SessionHost } from './host.js';
import { DomainError, InvalidInputError, InvalidStateError, NotFoundError, ConflictError } from './errors.js';
import * as input from './input.js';
import { startSession, SessionInputError } from './start.js';
import { isEnded, isLive, isValidSessionId, sessionDetail, sessionView, type SessionRecord, type SessionView } from './record.js';
import { addEvent, abandonSession, ensureHeld, fence, landSession, rebaseSession, sealLive, type LandContext } from './land.js';
import { handoffSession, serveSession } from './handoff.js';
import { readTreeDoc } from './tree-doc.js';
import { headView, ProjectHistory } from './history.js';
import { sealAndRecord } from './seal.js';
import { recordApplied } from './timeline.js';
import { applyFiles, precheckFiles } from './apply.js';
import { describeChanges, diffText, diffTrees, landedChanges, summarize } from './changes.js';

export interface SessionServiceOptions {
  catalog: Catalog;
  host: SessionHost;
  dataDir: string;
}

export class SessionService implements SessionApi {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly ctx: LandContext;
  readonly history: ProjectHistory;

  constructor(readonly o: SessionServiceOptions) {
    this.ctx = { catalog: o.catalog, host: o.host, dataDir: o.dataDir };
    this.history = new ProjectHistory(o.catalog);
  }

  get catalog(): Catalog {
    return this.o.catalog;
  }

  /** Runs fn after every earlier operation on the same session has finished. */
  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(fn);
    this.locks.set(id, run);
    const clear = () => {
      if (this.locks.get(id) === run) this.locks.delete(id);
    };
    run.then(clear, clear);
    return run;
  }

  private async record(id: string): Promise<SessionRecord> {
    const r = isValidSessionId(id) ? await this.o.catalog.get(id) : null;
    if (!r) throw new NotFoundError('session', `session ${JSON.stringify(id)} not found`);
    return r;
  }

  private mutable(r: SessionRecord): void {
    if (isEnded(r))
      throw new InvalidStateError(`session ${r.session_id} is ${r.status}; a ${r.status} session cannot change`, {
        session: sessionView(r),
      });
  }

  private active(r: SessionRecord, what: string): void {
    this.mutable(r);
    if (r.status !== 'active')
      throw new InvalidStateError(`session ${r.session_id} is ${r.status}; resume it to ${what}`, { session: sessionView(r) });
  }

  private async save(r: SessionRecord): Promise<void> {
    r.updated_at = new Date().toISOString();
    await this.o.catalog.update(r);
  }

  // ---------------------------------------------------------------- start / create

  private parseStart(raw: unknown): { opts: Parameters<typeof startSession>[1]; extra: input.AgentInfo; b: Record<string, unknown> } {
    const b = input.body(raw);
    const now = new Date().toISOString();
    const goal = input.str(b, 'goal', { required: true, max: 4096 })!;
    const project = input.projectOf(b);
    const sessionId = input.str(b, 'session_id', { max: 64 });
    if (sessionId !== undefined && !isValidSessionId(sessionId))
      throw new InvalidInputError('session_id', 'must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit');
    const opts = {
      project,
      goal,
      description: input.str(b, 'description') ?? '',
      sessionId,
      conversation: input.messages(b.conversation, 'conversation', now),
      decisions: input.decisions(b.decisions, 'decisions', now),
      metadata: input.metadata(b.metadata, 'metadata') as Record<string, string>,
      tags: input.tags(b.tags, 'tags'),
    };
    return { opts, extra: input.agentInfo(b), b };
  }

  private async doStart(opts: Parameters<typeof startSession>[1], extra: input.AgentInfo): Promise<SessionRecord> {
    if (!(await this.o.catalog.store(opts.project).getHead()))
      throw new NotFoundError('project', `project ${opts.project} not found (it has no head; run mic project init)`);
    let r: SessionRecord;
    try {
      r = await startSession(this.o.catalog, opts);
    } catch (e) {
      if (e instanceof SessionInputError) {
        if (/already exists/.test(e.message))
          throw new InvalidStateError(e.message, { code: 'exists', field: e.field, reason: 'already exists' });
        throw new InvalidInputError(e.field, e.message);
      }
      throw e;
    }
    Object.assign(r, extra);
    r.timeline = [];
    addEvent(r, { type: 'started', head: r.base.head, time: r.started_at });
    for (const m of r.conversation) addEvent(r, { time: m.time, type: 'conversation', role: m.role });
    for (const d of r.decisions) addEvent(r, { time: d.time, type: 'decision', decision: d.decision });
    r.updated_at = r.started_at;
    await this.o.catalog.update(r);
    return r;
  }

  async start(raw: StartRequest | unknown): Promise<SessionBody> {
    const { opts, extra } = this.parseStart(raw);
    const r = await this.doStart(opts, extra);
    if (isLive(r)) await this.o.host.open(r).catch(() => {}); // serve the export right away when a daemon runs
    return { session: sessionView(r) };
  }

  async create(raw: CreateRequest | unknown): Promise<SessionBody> {
    const { opts, extra, b } = this.parseStart(raw);
    const files = input.files(b.files);
    const message = input.str(b, 'message', { max: 65536 }) ?? opts.goal;
    const r = await this.doStart(opts, extra);
    return this.locked(r.session_id, async () => {
      await this.applyTo(r, files, 'files', true);
      const out = await this.landLocked(r, message, files.length ? 'api' : 'mount');
      return { session: out.session };
    });
  }

  // ---------------------------------------------------------------- reading

  async list(q: ListQuery | Record<string, string | number | undefined> = {}): Promise<ListBody> {
    const qq = q as Record<string, string | number | undefined>;
    const status = input.statusParam(qq.status === undefined ? undefined : String(qq.status));
    const tag = qq.tag === undefined || qq.tag === '' ? undefined : String(qq.tag);
    let project: string | undefined;
    if (qq.project !== undefined && qq.project !== '') {
      const [org, name, ...rest] = String(qq.project).split('/');
      if (rest.length || name === undefined) throw new InvalidInputError('project', 'must be "org/name"');
      project = input.projectParam(org, name);
    }
    const limit = input.intParam(qq.limit as string | number | undefined, 'limit', 50, 1, 1000);
    const offset = input.intParam(qq.offset as string | number | undefined, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const all = (await this.o.catalog.list()).filter(
      (r) => (!status || r.status === status) && (!tag || r.tags.includes(tag)) && (!project || r.project === project),
    );
    const page = all.slice(offset, offset + limit);
    return {
      sessions: page.map(sessionView),
      total: all.length,
      limit,
      offset,
      next_offset: offset + page.length < all.length ? offset + page.length : null,
    };
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

  /** The tree the session's changes are measured to: sealed now if live and held here, its recorded
   *  tree.json if another daemon serves it (or it was handed off), as recorded if it ended. */
  private async sessionTree(r: SessionRecord): Promise<string> {
    if (!isLive(r)) return r.sealed?.tree ?? r.base.tree;
    try {
      return (await sealLive(this.ctx, r)).tree;
    } catch (e) {
      if (!(e instanceof InvalidStateError) || !['handed_off', 'served_elsewhere'].includes(e.code)) throw e;
      return (await readTreeDoc(this.o.catalog.store(r.project), r))?.tree ?? r.base.tree;
    }
  }

  async changes(id: string, q: { content?: boolean | string } = {}): Promise<ChangesBody> {
    const content = input.boolParam(q.content, 'content', true);
    return this.locked(id, async () => {
      const r = await this.record(id);
      const store = this.o.catalog.store(r.project);
      const tree = await this.sessionTree(r);
      const list = await diffTrees(store, r.base.tree, tree);
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

  // ---------------------------------------------------------------- annotating

  async conversation(id: string, raw: ConversationRequest | unknown): Promise<SessionBody> {
    const b = input.body(raw);
    const now = new Date().toISOString();
    const msgs = b.messages !== undefined ? input.messages(b.messages, 'messages', now) : [input.message(b, '', now)];
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.mutable(r);
      for (const m of msgs) {
        r.conversation.push(m);
        addEvent(r, { type: 'conversation', role: m.role, time: m.time });
      }
      await this.save(r);
      return { session: sessionView(r) };
    });
  }

  async decisions(id: string, raw: DecisionsRequest | unknown): Promise<SessionBody> {
    const b = input.body(raw);
    const now = new Date().toISOString();
    const list = b.decisions !== undefined ? input.decisions(b.decisions, 'decisions', now) : [input.decision(b, '', now)];
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.mutable(r);
      for (const d of list) {
        r.decisions.push(d);
        addEvent(r, { type: 'decision', decision: d.decision, time: d.time });
      }
      await this.save(r);
      return { session: sessionView(r) };
    });
  }

  async patch(id: string, raw: PatchRequest | unknown): Promise<SessionBody> {
    const b = input.body(raw);
    const known = new Set(['metadata', 'tags', 'add_tags', 'remove_tags', 'goal', 'description']);
    for (const k of Object.keys(b))
      if (!known.has(k)) throw new InvalidInputError(k, `unknown field (PATCH takes ${[...known].join(', ')})`);
    const meta = input.metadata(b.metadata, 'metadata', true);
    const tags = b.tags === undefined ? undefined : input.tags(b.tags, 'tags');
    const add = input.tags(b.add_tags, 'add_tags');
    const remove = input.tags(b.remove_tags, 'remove_tags');
    const goal = input.str(b, 'goal', { max: 4096 });
    if (goal !== undefined && goal.trim() === '') throw new InvalidInputError('goal', 'must not be empty');
    const description = input.str(b, 'description');
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.mutable(r);
      for (const [k, v] of Object.entries(meta)) {
        if (v === null) delete r.metadata[k];
        else r.metadata[k] = v;
      }
      if (tags) r.tags = tags;
      for (const t of add) if (!r.tags.includes(t)) r.tags.push(t);
      r.tags = r.tags.filter((t) => !remove.includes(t));
      if (goal !== undefined) r.goal = goal;
      if (description !== undefined) r.description = description;
      addEvent(r, { type: 'metadata' });
      await this.save(r);
      return { session: sessionView(r) };
    });
  }

  // ---------------------------------------------------------------- status

  async suspend(id: string): Promise<SessionBody> {
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.mutable(r);
      if (r.status !== 'active') throw new InvalidStateError(`session ${id} is ${r.status}, not active`, { session: sessionView(r) });
      addEvent(r, { type: 'status', from: r.status, status: 'suspended' });
      r.status = 'suspended';
      await this.save(r);
      const fs = this.o.host.served(id);
      if (fs) fs.suspended = true; // its export is read-only (ROFS) from now on
      return { session: sessionView(r) };
    });
  }

  async resume(id: string): Promise<SessionBody> {
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.mutable(r);
      if (r.status !== 'suspended') throw new InvalidStateError(`session ${id} is ${r.status}, not suspended`, { session: sessionView(r) });
      addEvent(r, { type: 'status', from: r.status, status: 'active' });
      r.status = 'active';
      await this.save(r);
      const fs = this.o.host.served(id);
      if (fs) fs.suspended = false;
      return { session: sessionView(r) };
    });
  }

  async abandon(id: string): Promise<SessionBody> {
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.mutable(r);
      await abandonSession(this.ctx, r);
      return { session: sessionView(r) };
    });
  }

  // ---------------------------------------------------------------- changing files, landing

  /** landing: a landing follows in this call, which records the files' changes (land.ts) and saves */
  private async applyTo(r: SessionRecord, files: input.FileInput[], field = 'files', landing = false): Promise<void> {
    if (!files.length) return;
    const fs = await this.o.host.open(r);
    await precheckFiles(fs, files, field);
    // one event per change, typed by the tree (timeline.ts)
    await this.o.catalog.events.during(r.session_id, () =>
      recordApplied(this.o.catalog.store(r.project), r, fs, () => applyFiles(fs, r.owner, files), landing),
    );
    if (!landing) await this.save(r);
  }

  async files(id: string, raw: { files: unknown } | unknown): Promise<FilesBody> {
    const b = input.body(raw);
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
    const b = input.body(raw);
    const now = new Date().toISOString();
    const plain = input.str(b, 'message', { max: 65536 });
    const commit = input.str(b, 'commit_message', { max: 65536 });
    if (plain !== undefined && commit !== undefined && plain !== commit)
      throw new InvalidInputError('commit_message', 'differs from message; give one of them');
    const message = commit ?? plain;
    const files = input.files(b.files);
    const msgs = input.messages(b.conversation, 'conversation', now);
    const decs = input.decisions(b.decisions, 'decisions', now);
    const meta = input.metadata(b.metadata, 'metadata') as Record<string, string>;
    return this.locked(id, async () => {
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
      Object.assign(r.metadata, meta);
      await this.applyTo(r, files, 'files', true);
      if (msgs.length || decs.length || Object.keys(meta).length) await this.save(r);
      return this.landLocked(r, message ?? r.goal, files.length ? 'api' : 'mount');
    });
  }

  private async landLocked(r: SessionRecord, message: string, via: 'api' | 'mount' = 'mount'): Promise<LandBody> {
    const out = await landSession(this.ctx, r, message, via);
    if (!out.ok) throw new ConflictError(out.conflicts, sessionView(out.record));
    return {
      session: sessionView(out.record),
      head: headView(out.head, out.headRecord, out.record.goal),
      attempts: out.attempts,
      new_tree_hash: out.headRecord.tree,
      landed_commit: out.head,
      ...landedChanges(out.changes), // the landing's own diff of base and sealed tree
    };
  }

  async rebase(id: string): Promise<RebaseBody> {
    return this.locked(id, async () => {
      const r = await this.record(id);
      this.active(r, 'rebase it');
      const out = await rebaseSession(this.ctx, r);
      return { session: sessionView(out.record), from: out.from, to: out.to, rebased: out.rebased, conflicts: out.conflicts };
    });
  }

  // ---------------------------------------------------------------- handoff between daemons

  async handoff(id: string): Promise<HandoffBody> {
    return this.locked(id, async () => {
      const r = await this.record(id);
      if (!isLive(r))
        throw new InvalidStateError(`session ${id} is ${r.status}; only a live session can be handed off`, { session: sessionView(r) });
      const sealed = await handoffSession(this.ctx, r);
      return { session: sessionView(r), tree: sealed.tree, handed_off_by: this.o.host.owners.node };
    });
  }

  async serve(id: string, raw: ServeRequest | unknown = {}): Promise<ServeBody> {
    const b = input.body(raw);
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
      await sealAndRecord(fs, this.o.catalog.store(r.project), r, fence(this.ctx, r));
      return true;
    });
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
