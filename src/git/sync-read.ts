// For export-git's many small reads of the local data directory: get() with one synchronous read instead
// of the four thread-pool round trips of an async readFile (or of a pack, store/local-packs.ts). Everything else goes to the wrapped backend.
//
// The packs are the ones there were at the first read (a snapshot: LocalPacks `once`), not looked for again
// at each read (a stat of the packs directory per object was 14% of export's main thread on Lua's
// history). Export reads what a head it read first names, and a head moves only once everything it names is
// durable, so it is all in the snapshot or in loose files (which are read as before).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBackend, isContentAddressedKey, validateRelKey, type ObjectBackend } from '../store/index.js';
import { LocalPacks } from '../store/local-packs.js';

export type SyncReads = ObjectBackend & { close(): void };

export function syncReads(backend: ObjectBackend): SyncReads | null {
  if (!(backend instanceof LocalBackend)) return null;
  const root = backend.root;
  const packs = new LocalPacks(root, false, { once: true });
  const packed = (key: string) => {
    const loc = packs.lookup(key);
    return loc ? packs.readSync(loc) : null;
  };
  return {
    close: () => packs.close(),
    async get(key: string): Promise<Buffer | null> {
      validateRelKey(key);
      const p = isContentAddressedKey(key) ? packed(key) : null;
      if (p) return p;
      try {
        return readFileSync(join(root, key));
      } catch (e) {
        if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) return packed(key);
        throw e;
      }
    },
    cacheTier: backend.cacheTier,
    put: (k, d) => backend.put(k, d),
    stat: (k) => backend.stat(k),
    touch: (k) => backend.touch(k),
    isTransient: () => false, // a local directory never fails for now only
    has: (k) => backend.has(k),
    delete: (k) => backend.delete(k),
    list: (p) => backend.list(p),
    getRef: (k) => backend.getRef(k),
    casRef: (k, d, e) => backend.casRef(k, d, e),
  };
}
