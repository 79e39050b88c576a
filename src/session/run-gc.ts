// Garbage collection with the sessions as roots. Every document under a project's sessions/<id>/
// (metadata.json, tree.json, anything added later) protects what it names, whatever the session's
// status (active, suspended, landed, abandoned): the known fields directly, and any other SHA-256 hex in
// the document as a head, tree or blob if one exists under that hash.
import { ObjectStore, type ObjectBackend } from '../store/index.js';
import { collectGarbage, listProjects, parseDuration, type GcCount, type GcReport, type Marker } from '../store/collect-garbage.js';
import { SAFE_GC_GRACE_MS } from '../store/object-store.js';
import { isValidProject } from '../store/keys.js';
import { InvalidInputError, InvalidStateError } from './errors.js';
import { known } from './input.js';
import { Limiter } from '../store/limiter.js';
import type { SessionRecord } from './record.js';
import type { TreeDoc } from './seal.js';
import { gcDone } from '../metrics/session-metrics.js';

export interface GcRunOptions {
  graceMs: number;
  dryRun: boolean;
  /** only these projects (default: every project in the store) */
  projects?: string[];
  concurrency?: number;
  now?: number;
  /** progress of each project's phases (store/gc.ts GcOptions.onProgress) */
  onProgress?: (project: string, phase: 'list' | 'mark' | 'sweep', done: number, total: number) => void;
}

export interface GcProjectReport extends GcReport {
  sessions: number;
}

export interface GcRun {
  dry_run: boolean;
  grace_ms: number;
  projects: GcProjectReport[];
  totals: { listed: GcCount; referenced: GcCount; young: GcCount; deleted: GcCount; missing: number; refused: number };
}

const HEX64 = /\b[0-9a-f]{64}\b/g;

/** Marks what the project's session documents name; returns how many sessions there are. */
export async function markSessions(m: Marker, concurrency = 16): Promise<number> {
  const store = m.store;
  const docs: string[] = [];
  const ids = new Set<string>();
  for await (const it of store.backend.list(store.prefix + 'sessions/')) {
    docs.push(it.key);
    ids.add(it.key.slice(store.prefix.length).split('/')[1]);
  }
  const limiter = new Limiter(concurrency);
  await Promise.all(
    docs.map(async (key) => {
      const bytes = await limiter.run(() => store.backend.get(key));
      if (!bytes) return; // removed since the listing
      const text = bytes.toString('utf8');
      const known: Promise<void>[] = [];
      try {
        const doc = JSON.parse(text) as Partial<SessionRecord> & Partial<TreeDoc>;
        if (key.endsWith('/metadata.json')) {
          const r = doc as Partial<SessionRecord>;
          if (r.base?.head) known.push(m.head(r.base.head));
          if (r.base?.tree) known.push(m.tree(r.base.tree));
          if (r.sealed?.tree) known.push(m.tree(r.sealed.tree));
          if (r.landed_head) known.push(m.head(r.landed_head));
        } else if (key.endsWith('/tree.json')) {
          const t = doc as Partial<TreeDoc>;
          if (t.base) known.push(m.tree(t.base));
          if (t.tree) known.push(m.tree(t.tree));
        }
      } catch {
        // not JSON: the hex scan below still protects what it names
      }
      await Promise.all(known);
      await Promise.all([...new Set(text.match(HEX64) ?? [])].map((h) => m.any(h)));
    }),
  );
  return ids.size;
}

/** Collects garbage in each project (all of them by default), sessions included as roots. */
export async function runGc(backend: ObjectBackend, o: GcRunOptions): Promise<GcRun> {
  const projects = o.projects ?? (await listProjects(backend));
  const run: GcRun = {
    dry_run: o.dryRun,
    grace_ms: o.graceMs,
    projects: [],
    totals: { listed: zero(), referenced: zero(), young: zero(), deleted: zero(), missing: 0, refused: 0 },
  };
  for (const project of projects) {
    // a store of its own: GC reads must not evict the daemon's working set (when run in the daemon)
    const store = new ObjectStore(backend, project, { cacheBytes: 1, treeCacheEntries: 1 });
    let sessions = 0;
    const r = await collectGarbage(store, {
      graceMs: o.graceMs,
      dryRun: o.dryRun,
      concurrency: o.concurrency,
      now: o.now,
      onProgress: o.onProgress && ((phase, done, total) => o.onProgress!(project, phase, done, total)),
      roots: async (m) => {
        sessions = await markSessions(m, o.concurrency);
      },
    });
    run.projects.push({ ...r, sessions });
    for (const k of ['listed', 'referenced', 'young', 'deleted'] as const) {
      run.totals[k].objects += r[k].objects;
      run.totals[k].bytes += r[k].bytes;
    }
    run.totals.missing += r.missing.length;
    if (r.refused) run.totals.refused++;
  }
  gcDone(run);
  return run;
}

const running = new WeakSet<ObjectBackend>();

/** The shortest grace period gc accepts without force: objects a session has uploaded and not yet named,
 *  and objects a writer has reused without touching (they are touched once older than FRESHEN_AFTER_MS,
 *  and known to exist for PRESENT_TTL_MS), stay younger than this. */
export const MIN_GC_GRACE_MS = SAFE_GC_GRACE_MS;

/** Throws unless the grace period is at least MIN_GC_GRACE_MS, or force is given, or nothing is deleted. */
export function checkGrace(graceMs: number, o: { dryRun: boolean; force: boolean }): void {
  if (o.dryRun || o.force || graceMs >= MIN_GC_GRACE_MS) return;
  throw new InvalidInputError(
    'grace',
    `must be at least ${MIN_GC_GRACE_MS / 3_600_000}h: a shorter one can delete what a session ` +
      'is landing or has just reused, and the store is then corrupt; give force (mic gc --force) only when no session is writing',
  );
}

/**
 * POST /api/gc: {dry_run?: boolean (false), grace?: "24h" (a number is seconds; at least MIN_GC_GRACE_MS unless
 * force), force?: boolean, project?: "org/name"}. after runs once objects may have been deleted (the daemon
 * drops its stores' caches there).
 */
export async function gcRequest(backend: ObjectBackend, raw: unknown, after?: () => void): Promise<GcRun> {
  const b = (raw ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) throw new InvalidInputError('body', 'must be a JSON object');
  known(b, ['dry_run', 'project', 'force', 'grace']);
  if (b.dry_run !== undefined && typeof b.dry_run !== 'boolean') throw new InvalidInputError('dry_run', 'must be a boolean');
  if (b.project !== undefined && (typeof b.project !== 'string' || !isValidProject(b.project)))
    throw new InvalidInputError('project', 'must be "org/name"');
  if (b.force !== undefined && typeof b.force !== 'boolean') throw new InvalidInputError('force', 'must be a boolean');
  let graceMs: number;
  try {
    graceMs = parseDuration((b.grace ?? '24h') as string | number);
  } catch (e) {
    throw new InvalidInputError('grace', (e as Error).message);
  }
  checkGrace(graceMs, { dryRun: b.dry_run === true, force: b.force === true });
  if (running.has(backend)) throw new InvalidStateError('a garbage collection is already running');
  running.add(backend);
  try {
    return await runGc(backend, { graceMs, dryRun: b.dry_run === true, projects: b.project ? [b.project as string] : undefined });
  } finally {
    running.delete(backend);
    if (b.dry_run !== true) after?.();
  }
}

function zero(): GcCount {
  return { objects: 0, bytes: 0 };
}
