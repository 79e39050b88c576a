// For export-git's many small reads of the local data directory: get() with one synchronous read instead
// of the four thread-pool round trips of an async readFile (or of a pack, store/local-packs.ts). Everything else goes to the wrapped backend.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBackend, isContentAddressedKey, validateRelKey, type ObjectBackend } from '../store/index.js';

export function syncReads(backend: ObjectBackend): ObjectBackend {
  if (!(backend instanceof LocalBackend)) return backend;
  const root = backend.root;
  return {
    async get(key: string): Promise<Buffer | null> {
      validateRelKey(key);
      const packed = isContentAddressedKey(key) ? backend.getPackedSync(key, true) : null;
      if (packed) return packed;
      try {
        return readFileSync(join(root, key));
      } catch (e) {
        if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) return backend.getPackedSync(key);
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
