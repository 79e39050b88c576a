// JSON documents in the object store, read and written whole; update() is a compare-and-swap loop on
// the backend's ref primitive, so two daemons on one bucket never lose each other's edits.
import type { ObjectBackend } from '../store/index.js';

export async function readDoc<T>(backend: ObjectBackend, key: string): Promise<T | null> {
  const raw = await backend.get(key);
  return raw ? (JSON.parse(raw.toString('utf8')) as T) : null;
}

export async function writeDoc(backend: ObjectBackend, key: string, doc: unknown): Promise<void> {
  await backend.put(key, Buffer.from(JSON.stringify(doc) + '\n', 'utf8'));
}

/** Applies fn to the current document (null when absent) and writes the result by CAS, retrying on
 *  contention. fn returning undefined leaves the document as it is. */
export async function updateDoc<T>(backend: ObjectBackend, key: string, fn: (cur: T | null) => T | undefined): Promise<T | null> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const cur = await backend.getRef(key);
    const doc = cur ? (JSON.parse(cur.data.toString('utf8')) as T) : null;
    const next = fn(doc);
    if (next === undefined) return doc;
    if (await backend.casRef(key, Buffer.from(JSON.stringify(next) + '\n', 'utf8'), cur?.version ?? null)) return next;
    await new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** attempt) * Math.random()));
  }
  throw new Error(`${key}: too much contention`);
}
