// What every operation of the session service (service.ts) stands on: one queue per session (its
// operations serialised), reading a record, the state checks, starting, applying files, landing, and the
// tree a session's changes are measured to.
import type { Logger } from 'pino';
import type { Catalog } from './catalog.js';
import type { SessionHost } from './host.js';
import { InvalidInputError, InvalidStateError, NotFoundError, ConflictError } from './errors.js';
import * as input from './input.js';
import { startSession, SessionInputError, type StartOptions } from './start.js';
import { DEFAULT_TYPE, isEnded, isLive, isValidSessionId, sessionView, type SessionRecord } from './record.js';
import { addEvent, landSession, sealLive, type LandContext } from './land.js';
import { readTreeDoc } from './tree-doc.js';
import { handoffPending, handoffSession } from './handoff.js';
import { headView } from './history.js';
import { applyFiles, precheckFiles } from './apply.js';
import { recordApplied } from './timeline.js';
import { landedChanges } from './changes.js';
import { checkAgainstConfig, readSessionConfig } from './session-config.js';
import type { LandBody } from './session-api.js';

export interface SessionServiceOptions {
  catalog: Catalog;
  host: SessionHost;
  dataDir: string;
  /** how long a landing waits for an unreachable store or the uploads it needs (ms; land.ts LAND_WAIT_MS) */
  landWaitMs?: number;
  /** the daemon's logger, for what landing, rebase and handoff do in the background of a call */
  log?: Logger;
  /** The CLI (no daemon, so no start-up settleHandoffs): a handoff of this data dir that a crash cut short
   *  (handoff.ts handoffPending) is finished on the session's first use, before the operation reads it. */
  settleHandoffsOnUse?: boolean;
}

export class SessionServiceBase {
  private readonly locks = new Map<string, Promise<unknown>>();
  protected readonly ctx: LandContext;

  constructor(readonly o: SessionServiceOptions) {
    this.ctx = { catalog: o.catalog, host: o.host, dataDir: o.dataDir, landWaitMs: o.landWaitMs, log: o.log };
  }

  get catalog(): Catalog {
    return this.o.catalog;
  }

  /** Runs fn after every earlier operation on the same session has finished. */
  protected locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(fn);
    this.locks.set(id, run);
    const clear = () => {
      if (this.locks.get(id) === run) this.locks.delete(id);
    };
    run.then(clear, clear);
    return run;
  }

  protected async record(id: string): Promise<SessionRecord> {
    const r = isValidSessionId(id) ? await this.o.catalog.get(id) : null;
    if (!r) throw new NotFoundError('session', `session ${JSON.stringify(id)} not found`);
    if (this.o.settleHandoffsOnUse && !this.settled.has(id)) {
      this.settled.add(id);
      return this.settleHandoff(r);
    }
    return r;
  }

  /** settleHandoffsOnUse: reads the holder only when the record says this data dir handed the session off
   *  last. One that cannot be finished now (the store away) is left as it is, and logged. */
  private readonly settled = new Set<string>();
  private async settleHandoff(r: SessionRecord): Promise<SessionRecord> {
    const id = r.session_id;
    try {
      if (!isLive(r) || !(await handoffPending(this.ctx, r))) return r;
      await handoffSession(this.ctx, r);
      this.o.log?.warn({ session: id }, 'handoff cut short by a crash finished: the session is released');
      return r;
    } catch (e) {
      this.o.log?.warn({ session: id, err: e }, 'handoff cut short by a crash could not be finished; the session stays held here');
      return (await this.o.catalog.get(id)) ?? r;
    }
  }

  protected mutable(r: SessionRecord): void {
    if (isEnded(r))
      throw new InvalidStateError(`session ${r.session_id} is ${r.status}; a ${r.status} session cannot change`, {
        session: sessionView(r),
      });
  }

  protected active(r: SessionRecord, what: string): void {
    this.mutable(r);
    if (r.status !== 'active')
      throw new InvalidStateError(`session ${r.session_id} is ${r.status}; resume it to ${what}`, { session: sessionView(r) });
  }

  protected async save(r: SessionRecord): Promise<void> {
    r.updated_at = new Date().toISOString();
    await this.o.catalog.update(r);
  }

  // ---------------------------------------------------------------- start / create

  protected async doStart(opts: StartOptions, extra: input.AgentInfo): Promise<SessionRecord> {
    if (!(await this.o.catalog.store(opts.project).getHead()))
      throw new NotFoundError('project', `project ${opts.project} not found (it has no head; run mic project init)`);
    checkAgainstConfig(await readSessionConfig(this.o.catalog, opts.project), extra);
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
    r.type ??= DEFAULT_TYPE;
    r.timeline = [];
    addEvent(r, { type: 'started', head: r.base.head, time: r.started_at });
    for (const m of r.conversation) addEvent(r, { time: m.time, type: 'conversation', role: m.role });
    for (const d of r.decisions) addEvent(r, { time: d.time, type: 'decision', decision: d.decision });
    r.updated_at = r.started_at;
    await this.o.catalog.update(r);
    return r;
  }

  /** The tree the session's changes are measured to: sealed now if live and held here, its recorded
   *  tree.json if another daemon serves it (or it was handed off), as recorded if it ended. */
  protected async sessionTree(r: SessionRecord): Promise<string> {
    if (!isLive(r)) return r.sealed?.tree ?? r.base.tree;
    try {
      return (await sealLive(this.ctx, r)).tree;
    } catch (e) {
      if (!(e instanceof InvalidStateError) || !['handed_off', 'served_elsewhere'].includes(e.code)) throw e;
      return (await readTreeDoc(this.o.catalog.store(r.project), r))?.tree ?? r.base.tree;
    }
  }

  /** landing: a landing follows in this call, which records the files' changes (land.ts) and saves */
  protected async applyTo(r: SessionRecord, files: input.FileInput[], field = 'files', landing = false): Promise<void> {
    if (!files.length) return;
    const fs = await this.o.host.open(r);
    await precheckFiles(fs, files, field);
    // one event per change, typed by the tree (timeline.ts)
    await this.o.catalog.events.during(r.session_id, () =>
      recordApplied(this.o.catalog.store(r.project), r, fs, () => applyFiles(fs, r.owner, files), landing),
    );
    if (!landing) await this.save(r);
  }

  /** ahead: the project's head, read while the record was (landSession) */
  protected async landLocked(
    r: SessionRecord,
    message: string,
    via: 'api' | 'mount' = 'mount',
    ahead?: Parameters<typeof landSession>[4],
  ): Promise<LandBody> {
    const out = await landSession(this.ctx, r, message, via, ahead);
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
}
