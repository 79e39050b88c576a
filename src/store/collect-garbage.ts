// Garbage collection of one project's blobs and trees (mark and sweep).
//
// Listing comes first, so objects uploaded while the collection runs are never candidates. Marking starts
// from every head record in heads/ and the head ref (all history is kept: head records are never deleted),
// plus whatever roots the caller adds (session records: src/session/run-gc.ts). An unreferenced blob or tree is
// deleted only when older than the grace period, which covers objects a landing has uploaded and not yet
// named. If any referenced object is missing (lost, or not uploaded yet), nothing is deleted: what a
// missing tree or chunked blob would have named cannot be known.
import type { ObjectStore } from './object-store.js';
import { Limiter } from './limiter.js';
import { Marker } from './marker.js';
import { isHash, isValidProject, objectRelKey } from './keys.js';
import type { ObjectBackend } from './object-backend.js';

export { Marker } from './marker.js';

export interface GcOptions {
  /** unreferenced objects younger than this are kept (ms) */
  graceMs: number;
  dryRun: boolean;
  /** concurrent backend reads and deletes (default 16) */
  concurrency?: number;
  /** the clock (ms since the epoch; default Date.now()) */
  now?: number;
  /** adds roots beyond the head records */
  roots?: (m: Marker) => Promise<void>;
  /** told how far each phase is: list (objects listed, total unknown: 0), mark, sweep (objects looked at / doomed) */
  onProgress?: (phase: 'list' | 'mark' | 'sweep', done: number, total: number) => void;
}

export interface GcCount {
  objects: number;
  bytes: number;
}
export interface GcObject {
  key: string;
  size: number;
  age_ms: number;
}

export interface GcReport {
  project: string;
  dry_run: boolean;
  grace_ms: number;
  /** head records kept (all of them) */
  heads: number;
  /** blobs and trees in the store */
  listed: GcCount;
  referenced: GcCount;
  /** unreferenced but younger than the grace period */
  young: GcCount;
  /** deleted, or with dry_run what would be */
  deleted: GcCount;
  /** the keys counted in deleted (full backend keys) */
  objects: GcObject[];
  /** referenced objects that are not in the store (keys relative to the project) */
  missing: string[];
  /** why nothing was deleted, when the sweep refused */
  refused: string | null;
}

const count = (): GcCount => ({ objects: 0, bytes: 0 });
const add = (c: GcCount, size: number) => {
  c.objects++;
  c.bytes += size;
};

/** Mark and sweep one project. */
export async function collectGarbage(store: ObjectStore, o: GcOptions): Promise<GcReport> {
  const now = o.now ?? Date.now();
  const backend = store.backend;
  const limiter = new Limiter(o.concurrency ?? 16);
  const report: GcReport = {
    project: store.project,
    dry_run: o.dryRun,
    grace_ms: o.graceMs,
    heads: 0,
    listed: count(),
    referenced: count(),
    young: count(),
    deleted: count(),
    objects: [],
    missing: [],
    refused: null,
  };

  // list: blobs and trees are candidates; heads are history
  const listed = {
    blobs: new Map<string, { key: string; size: number; mtimeMs: number }>(),
    trees: new Map<string, { key: string; size: number; mtimeMs: number }>(),
  };
  for (const kind of ['blobs', 'trees'] as const) {
    for await (const it of backend.list(store.prefix + `${kind}/`)) {
      const hash = it.key.slice(it.key.lastIndexOf('/') + 1);
      if (!isHash(hash) || it.key !== store.key(objectRelKey(kind, hash))) continue; // not ours: never touched
      listed[kind].set(hash, it);
      add(report.listed, it.size);
      if ((report.listed.objects & 255) === 0) o.onProgress?.('list', report.listed.objects, 0);
    }
  }
  const headHashes: string[] = [];
  for await (const it of backend.list(store.prefix + 'heads/')) {
    const hash = it.key.slice(it.key.lastIndexOf('/') + 1);
    if (isHash(hash)) headHashes.push(hash);
  }

  o.onProgress?.('list', report.listed.objects, 0);
  // mark
  o.onProgress?.('mark', 0, 0);
  const m = new Marker(store, o.concurrency ?? 16);
  const current = await store.getHead();
  await Promise.all([...headHashes, ...(current ? [current.hash] : [])].map((h) => m.head(h)));
  if (o.roots) await o.roots(m);
  report.heads = m.heads.size;
  o.onProgress?.('mark', m.blobs.size + m.trees.size, 0);

  // referenced blobs missing from the listing: uploaded since, or really missing (trees were read while marking)
  await Promise.all(
    [...m.blobs]
      .filter((h) => !listed.blobs.has(h))
      .map(async (h) => {
        const rel = objectRelKey('blobs', h);
        if (!(await limiter.run(() => backend.has(store.key(rel))))) m.missing.add(rel);
      }),
  );
  report.missing = [...m.missing].sort();
  if (report.missing.length) report.refused = `${report.missing.length} referenced objects are missing (first: ${report.missing[0]})`;

  // sweep
  let doomed: GcObject[] = [];
  for (const kind of ['blobs', 'trees'] as const) {
    const marked = kind === 'blobs' ? m.blobs : m.trees;
    for (const [hash, it] of listed[kind]) {
      if (marked.has(hash)) {
        add(report.referenced, it.size);
        continue;
      }
      const age = Math.max(0, now - it.mtimeMs);
      if (age < o.graceMs) {
        add(report.young, it.size);
        continue;
      }
      doomed.push({ key: it.key, size: it.size, age_ms: Math.round(age) });
    }
  }
  doomed.sort((a, b) => a.key.localeCompare(b.key));
  if (report.refused) return report;
  let gone = doomed;
  let swept = 0;
  o.onProgress?.('sweep', 0, doomed.length);
  if (!o.dryRun && doomed.length) {
    // heads (and session documents) made since the listing may name doomed objects: mark them too (git's gc
    // does the same with refs updated while it ran); what they name is kept
    doomed = await remark(store, m, o, doomed);
    // a writer may have reused (and so touched) an object since the listing: look again just before deleting
    const kept = await Promise.all(
      doomed.map((d) =>
        limiter.run(async () => {
          const st = await backend.stat(d.key);
          const keep = !st || Date.now() - st.mtimeMs < o.graceMs;
          if (!keep) await backend.delete(d.key);
          o.onProgress?.('sweep', ++swept, doomed.length);
          return keep;
        }),
      ),
    );
    gone = doomed.filter((_, i) => !kept[i]);
  }
  for (const d of gone) add(report.deleted, d.size);
  report.objects = gone;
  return report;
}

/** Marks what heads and roots made since the first mark name; returns the doomed objects still unmarked. */
async function remark(store: ObjectStore, m: Marker, o: GcOptions, doomed: GcObject[]): Promise<GcObject[]> {
  const heads: string[] = [];
  for await (const it of store.backend.list(store.prefix + 'heads/')) {
    const hash = it.key.slice(it.key.lastIndexOf('/') + 1);
    if (isHash(hash) && !m.heads.has(hash)) heads.push(hash);
  }
  const current = await store.getHead();
  if (current && !m.heads.has(current.hash)) heads.push(current.hash);
  await Promise.all(heads.map((h) => m.head(h)));
  if (o.roots) await o.roots(m);
  const marked = (key: string) => {
    const hash = key.slice(key.lastIndexOf('/') + 1);
    return key.startsWith(store.prefix + 'blobs/') ? m.blobs.has(hash) : m.trees.has(hash);
  };
  return doomed.filter((d) => !marked(d.key));
}

/** Every project with at least one object in the backend ("org/name"), sorted. */
export async function listProjects(backend: ObjectBackend): Promise<string[]> {
  const seen = new Set<string>();
  for await (const it of backend.list('projects/')) {
    const parts = it.key.split('/');
    if (parts.length < 4) continue;
    const p = `${parts[1]}/${parts[2]}`;
    if (isValidProject(p)) seen.add(p);
  }
  return [...seen].sort();
}

/** "0", "90s", "30m", "2h", "7d", "1500ms" (a bare number is seconds) -> milliseconds. */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new Error(`not a duration: ${v}`);
    return v * 1000;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/i.exec(v);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(v)} (use e.g. 30m, 2h, 7d, 0)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[(m[2] ?? 's').toLowerCase() as 'ms'];
  return Math.round(Number(m[1]) * unit);
}
