// Where sessions and projects are found: session records live with their project
// (projects/<p>/sessions/<id>/metadata.json); index/sessions/<id> names the project.
//
// index/live/<id> marks a live (active or suspended) session, so that what concerns only live sessions
// (the export list, start-up preloading, ?status=active) costs O(live sessions), never O(all sessions ever
// started). The record stays the truth; the markers only ever over-approximate it: a live record's marker is
// written before the record, an ended record's marker deleted after it, and whatever reads the markers reads
// the records and keeps the live ones. A data dir from before the markers is indexed once (index/live-built).
import { LRUCache } from 'lru-cache';
import { CorruptObjectError, ObjectStore, type ObjectBackend } from '../store/index.js';
import { Limiter } from '../store/limiter.js';
import type { SessionRecord } from './record.js';
import { isLive, isValidSessionId } from './record.js';
import { SessionEvents } from './events.js';
import { forgetSeals } from './seal.js';
import { RECENT_BUILT_KEY, RECENT_PREFIX, idOfRecent, recentKey, recentName } from './session-index.js';

/** Session records read at once by list(). */
const LIST_CONCURRENCY = 16;
const LIVE_PREFIX = 'index/live/';
/** Written once every live session of the data dir has its marker. */
const LIVE_BUILT_KEY = 'index/live-built';

export class Catalog {
  private stores = new Map<string, ObjectStore>();
  /** session id -> project: an index entry never changes once written */
  // maxSize, not max: the same 100,000 entries without pre-allocating arrays for them per catalog
  private readonly projects = new LRUCache<string, string>({ maxSize: 100_000, sizeCalculation: () => 1 });
  /** fired whenever a record is saved here, and by the session filesystems the daemon serves */
  readonly events = new SessionEvents();
  /** live sessions whose marker this process wrote or found (saves a write per record update) */
  private readonly marked = new Set<string>();
  private liveBuilt: Promise<void> | null = null;
  private recentBuilt: Promise<void> | null = null;

  constructor(
    readonly backend: ObjectBackend,
    private readonly cacheBytes = 256 * 1024 * 1024,
  ) {}

  store(project: string): ObjectStore {
    let s = this.stores.get(project);
    if (!s) {
      s = new ObjectStore(this.backend, project, { cacheBytes: this.cacheBytes });
      this.stores.set(project, s);
    }
    return s;
  }

  /** After a garbage collection: every store forgets which objects exist (ObjectStore.dropCaches). */
  dropCaches(): void {
    forgetSeals();
    for (const s of this.stores.values()) s.dropCaches();
  }

  /** The project of session id when this process knows it already (no I/O), else null. */
  knownProject(id: string): string | null {
    return this.projects.get(id) ?? null;
  }

  async projectOf(id: string): Promise<string | null> {
    if (!isValidSessionId(id)) return null;
    const known = this.projects.get(id);
    if (known) return known;
    const raw = await this.backend.get(`index/sessions/${id}`);
    if (!raw) return null;
    const project = (JSON.parse(raw.toString('utf8')) as { project: string }).project;
    this.projects.set(id, project);
    return project;
  }

  /** The record of session id. A record that names another session (or project) than the key it was read
   *  under is refused with CorruptObjectError: one session's record must never act as another's. */
  async get(id: string): Promise<SessionRecord | null> {
    const project = await this.projectOf(id);
    if (!project) return null;
    const store = this.store(project);
    const rel = `sessions/${id}/metadata.json`;
    const r = await store.getJson<SessionRecord>(rel);
    if (r && (typeof r !== 'object' || r.session_id !== id || r.project !== project)) {
      throw new CorruptObjectError(
        store.key(rel),
        `it is not the record of session ${id} in ${project} ` +
          `(it names session ${JSON.stringify((r as Partial<SessionRecord>)?.session_id)} in ${JSON.stringify((r as Partial<SessionRecord>)?.project)})`,
      );
    }
    return r;
  }

  async put(r: SessionRecord): Promise<void> {
    // its place in the newest-first index (session-index.ts), before the record like its live marker
    await Promise.all([this.markLive(r), this.backend.put(recentKey(recentName(r)), Buffer.alloc(0)), this.recentBuiltIfEmpty()]);
    await this.store(r.project).putJson(`sessions/${r.session_id}/metadata.json`, r);
    await this.backend.put(`index/sessions/${r.session_id}`, Buffer.from(JSON.stringify({ project: r.project })));
    this.projects.set(r.session_id, r.project);
    await this.unmarkEnded(r);
    this.saved(r);
  }

  /** Drops a session's index entries (purgeSession: its record is gone, its id free again). */
  async forget(id: string, started_at?: string): Promise<void> {
    if (started_at) await this.backend.delete(recentKey(recentName({ started_at, session_id: id })));
    await this.backend.delete(`index/sessions/${id}`);
    this.projects.delete(id);
  }

  /** Rewrite an existing record (its index entry is already there). after: work of the caller's that may
   *  run once the record is durable, alongside the removal of an ended session's live marker. */
  async update(r: SessionRecord, after?: () => Promise<void>): Promise<void> {
    await this.markLive(r);
    await this.store(r.project).putJson(`sessions/${r.session_id}/metadata.json`, r);
    // an ended session's marker goes behind the caller's answer (a round trip less on a landing, on S3): a
    // marker left by a crash or a failed delete is stale, and stale ones are read past and removed (liveList)
    this.unmarkBehind(r);
    await after?.();
    this.saved(r);
  }

  /** Removals of ended sessions' markers still running (unmarkBehind). */
  private readonly unmarking = new Set<Promise<void>>();

  private unmarkBehind(r: SessionRecord): void {
    if (isLive(r)) return;
    const p = this.unmarkEnded(r)
      .catch(() => {}) // left stale: removed by the next liveList that reads it
      .finally(() => this.unmarking.delete(p));
    this.unmarking.add(p);
  }

  /** Resolves when the markers of sessions updated as ended so far are removed (or failed to be), or after
   *  timeoutMs (one left is stale, which is harmless). */
  async unmarked(timeoutMs = Infinity): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all([...this.unmarking]);
    await (Number.isFinite(timeoutMs) ? Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]) : all);
    clearTimeout(timer);
  }

  /** Before a live record is written: its marker. */
  private async markLive(r: SessionRecord): Promise<void> {
    if (!isLive(r) || this.marked.has(r.session_id)) return;
    await this.backend.put(LIVE_PREFIX + r.session_id, Buffer.from(r.project));
    this.marked.add(r.session_id);
  }

  /** After an ended record is written: no marker (ended is final, so a marker can only be stale). */
  private async unmarkEnded(r: SessionRecord): Promise<void> {
    if (isLive(r)) return;
    this.marked.delete(r.session_id);
    await this.backend.delete(LIVE_PREFIX + r.session_id);
  }

  /** Ids of the sessions that may be live (a superset: liveList reads their records). */
  async liveIds(): Promise<string[]> {
    await this.buildLiveIndex();
    const out: string[] = [];
    for await (const o of this.backend.list(LIVE_PREFIX)) out.push(o.key.slice(LIVE_PREFIX.length));
    return out;
  }

  /** The live sessions' records, oldest first; O(live sessions). Stale markers are removed on the way. */
  async liveList(): Promise<SessionRecord[]> {
    const limiter = new Limiter(LIST_CONCURRENCY);
    const got = await Promise.all(
      (await this.liveIds()).map((id) =>
        limiter.run(async () => {
          const r = await this.get(id).catch((e: unknown) => {
            if (e instanceof CorruptObjectError) return null;
            throw e;
          });
          if (r && isLive(r)) return r;
          if (r) await this.unmarkEnded(r);
          return null;
        }),
      ),
    );
    return sortByStart(got.filter((r): r is SessionRecord => r !== null));
  }

  /** Once per data dir (and per process until it is there): a marker for every live session. */
  private buildLiveIndex(): Promise<void> {
    this.liveBuilt ??= (async () => {
      if (await this.backend.has(LIVE_BUILT_KEY)) return;
      for (const r of await this.list()) if (isLive(r)) await this.backend.put(LIVE_PREFIX + r.session_id, Buffer.from(r.project));
      await this.backend.put(LIVE_BUILT_KEY, Buffer.from(new Date().toISOString()));
    })().catch((e: unknown) => {
      this.liveBuilt = null;
      throw e;
    });
    return this.liveBuilt;
  }

  /**
   * One page of sessions, newest first, after the cursor `after` (a name from session-index.ts): records
   * are read in index order until `limit` match or `scan` have been looked at. next: the name to continue
   * after, or null at the end (a page cut short by `scan` has a next too, so that a rare filter costs
   * bounded work per request).
   */
  async page(o: {
    after?: string;
    limit: number;
    scan: number;
    match?: (r: SessionRecord) => boolean;
  }): Promise<{ records: SessionRecord[]; next: string | null }> {
    await this.buildRecentIndex();
    const from = o.after ? recentKey(o.after) : '';
    const it = this.backend.list(RECENT_PREFIX, from ? { startAfter: from } : {})[Symbol.asyncIterator]();
    const records: SessionRecord[] = [];
    let scanned = 0;
    let last: string | null = null;
    const limiter = new Limiter(LIST_CONCURRENCY);
    for (;;) {
      // the next few keys (a backend that ignores startAfter lists from the start: skipped here)
      const want = Math.min(64, Math.max(8, o.limit - records.length + 1));
      const names: string[] = [];
      let done = false;
      while (names.length < want) {
        const n = await it.next();
        if (n.done) {
          done = true;
          break;
        }
        if (n.value.key <= from) continue;
        if (idOfRecent(n.value.key)) names.push(n.value.key.slice(n.value.key.lastIndexOf('/') + 1));
      }
      const got = await Promise.all(
        names.map((name) =>
          limiter.run(() =>
            this.get(idOfRecent(name)!).catch((e: unknown) => (e instanceof CorruptObjectError ? null : Promise.reject(e))),
          ),
        ),
      );
      for (let i = 0; i < names.length; i++) {
        if (records.length === o.limit || scanned === o.scan) {
          await it.return?.();
          return { records, next: last };
        }
        scanned++;
        last = names[i]!;
        const r = got[i];
        // an entry without its record: a session being created, or one removed since
        if (r && (!o.match || o.match(r))) records.push(r);
      }
      if (done) return { records, next: null };
    }
  }

  /** A store's first session: nothing to index later (the marker is written before its entry's record). */
  private recentBuiltIfEmpty(): Promise<void> {
    this.recentBuilt ??= (async () => {
      if (await this.backend.has(RECENT_BUILT_KEY)) return;
      for await (const _ of this.backend.list('index/sessions/')) {
        this.recentBuilt = null; // sessions from before the index: the first listing indexes them
        return;
      }
      await this.backend.put(RECENT_BUILT_KEY, Buffer.from(new Date().toISOString()));
    })().catch((e: unknown) => {
      this.recentBuilt = null;
      throw e;
    });
    return this.recentBuilt;
  }

  /** Once per data dir: an index entry for every session recorded before the index existed. */
  private buildRecentIndex(): Promise<void> {
    this.recentBuilt ??= (async () => {
      if (await this.backend.has(RECENT_BUILT_KEY)) return;
      const limiter = new Limiter(LIST_CONCURRENCY);
      await Promise.all((await this.list()).map((r) => limiter.run(() => this.backend.put(recentKey(recentName(r)), Buffer.alloc(0)))));
      await this.backend.put(RECENT_BUILT_KEY, Buffer.from(new Date().toISOString()));
    })().catch((e: unknown) => {
      this.recentBuilt = null;
      throw e;
    });
    return this.recentBuilt;
  }

  private saved(r: SessionRecord): void {
    if (!this.events.listenerCount) return;
    this.events.emit({
      type: 'session',
      session: r.session_id,
      project: r.project,
      status: r.status,
      landed_head: r.landed_head ?? null,
      time: new Date().toISOString(),
    });
  }

  async ids(): Promise<string[]> {
    const out: string[] = [];
    for await (const o of this.backend.list('index/sessions/')) out.push(o.key.slice('index/sessions/'.length));
    return out;
  }

  async list(): Promise<SessionRecord[]> {
    const limiter = new Limiter(LIST_CONCURRENCY);
    // a refused record (see get) is left out of listings; reading that session answers the error
    const got = await Promise.all(
      (await this.ids()).map((id) =>
        limiter.run(() =>
          this.get(id).catch((e: unknown) => {
            if (e instanceof CorruptObjectError) return null;
            throw e;
          }),
        ),
      ),
    );
    return sortByStart(got.filter((r): r is SessionRecord => r !== null));
  }
}

function sortByStart(out: SessionRecord[]): SessionRecord[] {
  return out.sort((a, b) => a.started_at.localeCompare(b.started_at));
}
