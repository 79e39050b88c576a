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
  // a copy that cannot be read is skipped from then on (LocalPacks marks it): the next copy, or the error
  const packed = (key: string): Buffer | null => {
    let err: unknown = null;
    for (let tries = 0; tries < 8; tries++) {
      const loc = packs.lookup(key);
      if (!loc) break;
      try {
        return packs.readSync(loc);
      } catch (e) {
        err = e;
      }
    }
    if (err) throw err;
    return null;
  };
  return {
    close: () => packs.close(),
    // a copy that failed its hash check is skipped from then on, as LocalBackend does (damaged packs)
    reportCorrupt: (key, detail) => packs.reportCorrupt(key, detail),
    whyMissing: (key) => packs.whyMissing(key),
    async get(key: string): Promise<Buffer | null> {
      validateRelKey(key);
      let failed: unknown = null;
      if (isContentAddressedKey(key)) {
        try {
          const p = packed(key);
          if (p) return p;
        } catch (e) {
          failed = e; // a damaged packed copy: a loose one may serve
        }
      }
      try {
        return readFileSync(join(root, key));
      } catch (e) {
        if (!['ENOENT', 'ENOTDIR', 'EISDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
        if (failed) throw failed;
        return packed(key);
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
