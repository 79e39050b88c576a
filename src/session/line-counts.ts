// Lines added and removed per changed file between two trees, kept in the store: counts/<h[0:2]>/<h>, h =
// SHA-256 of "<base tree>\0<tree>". Counting reads and diffs both versions of every changed file (about a
// second for a large landing, cold); a landed session's trees never change, so its counts are computed once,
// behind its landing (one at a time, off the landing's path), and every later listing (any daemon, after a
// restart) reads one object instead. Listings also save what they had to count. Nothing names these objects:
// a lost or damaged one is counted again.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { LocalBackend, type ObjectStore } from '../store/index.js';
import { describeChanges, knownCounts, pairKey, rememberCounts, type TreeChange } from './changes.js';

interface CountsDoc {
  base: string;
  tree: string;
  /** pair key -> [binary 0/1, added, removed] */
  pairs: Record<string, [number, number | null, number | null]>;
}

const keyOf = (base: string, tree: string) => {
  const h = createHash('sha256').update(`${base}\0${tree}`).digest('hex');
  return `counts/${h.slice(0, 2)}/${h}`;
};

/** Loads the saved counts of base -> tree into the pair cache; false when none are saved. */
export async function loadLineCounts(store: ObjectStore, base: string, tree: string): Promise<boolean> {
  const doc = await store.getJson<CountsDoc>(keyOf(base, tree)).catch(() => null);
  if (!doc || doc.base !== base || doc.tree !== tree || typeof doc.pairs !== 'object' || !doc.pairs) return false;
  for (const [k, v] of Object.entries(doc.pairs)) {
    if (Array.isArray(v) && v.length === 3) rememberCounts(k, { binary: v[0] === 1, added: v[1], removed: v[2] });
  }
  return true;
}

/** Counts what is not known yet (describeChanges, SLICE files at a time, yielding between slices) and
 *  saves the counts of every file change. */
export async function saveLineCounts(store: ObjectStore, base: string, tree: string, changes: readonly TreeChange[]): Promise<void> {
  const files = changes.filter((c) => pairKey(c) !== null);
  if (!files.length) return;
  for (let i = 0; i < files.length; i += SLICE) {
    await describeChanges(store, files.slice(i, i + SLICE), { content: false });
    await new Promise<void>((res) => setImmediate(res));
  }
  const doc: CountsDoc = { base, tree, pairs: {} };
  for (const c of files) {
    const k = pairKey(c)!;
    const v = knownCounts(k);
    if (v) doc.pairs[k] = [v.binary ? 1 : 0, v.added, v.removed];
  }
  // a local store removed meanwhile (its data dir deleted) is not created again by this write
  const b = store.backend;
  if (b instanceof LocalBackend && !existsSync(b.root)) return;
  await store.putJson(keyOf(base, tree), doc);
}

const SLICE = 32;
/** How long counting waits after a landing: its answer (the audit entry, the reply) and the requests that
 *  follow at once go first. */
const DELAY_MS = 1000;

let queue: Promise<void> = Promise.resolve();
/** backends whose daemon closed: their queued counts are dropped */
const stopped = new WeakSet<object>();
const running = new Map<object, Promise<void>>();

/** saveLineCounts behind the caller, one at a time, DELAY_MS later. */
export function saveLineCountsBehind(store: ObjectStore, base: string, tree: string, changes: readonly TreeChange[]): void {
  const backend = store.backend;
  queue = queue
    .then(() => new Promise<void>((res) => setTimeout(res, DELAY_MS).unref()))
    .then(() => {
      if (stopped.has(backend)) return;
      const p = saveLineCounts(store, base, tree, changes).finally(() => running.delete(backend));
      running.set(backend, p);
      return p;
    })
    .catch(() => {}); // counted again when listed
}

/** At a daemon's close: nothing more is written to its store (what is queued is dropped: counted again
 *  when listed); resolves once a save under way has ended. */
export async function stopLineCounts(backend: object): Promise<void> {
  stopped.add(backend);
  await running.get(backend)?.catch(() => {});
}
