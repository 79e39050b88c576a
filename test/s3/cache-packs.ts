// Finds what a daemon's disk cache (<data-dir>/cache/packs, src/store/cache-pack.ts) holds, as its scan
// at start-up does: packs oldest first, a later record of a key wins, a tombstone removes it.
import { closeSync, openSync, readSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { KIND_ENTRY, PACK_DIR, scanPack } from '../../src/store/cache-pack.js';

export interface CachedCopy {
  file: string;
  offset: number;
  size: number;
}

/** Every key the cache of dataDir holds, and where its copy lies. */
export async function cachedCopies(dataDir: string): Promise<Map<string, CachedCopy>> {
  const dir = join(dataDir, 'cache', PACK_DIR);
  const out = new Map<string, CachedCopy>();
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name);
    for (const r of (await scanPack(file)).records) {
      out.delete(r.key);
      if (r.kind === KIND_ENTRY) out.set(r.key, { file, offset: r.offset, size: r.size });
    }
  }
  return out;
}

/** Where the cache of dataDir holds key's copy, or null. */
export async function cachedCopy(dataDir: string, key: string): Promise<CachedCopy | null> {
  return (await cachedCopies(dataDir)).get(key) ?? null;
}

/** The bytes of a cached copy. */
export function readCopy(c: CachedCopy): Buffer {
  const fd = openSync(c.file, 'r');
  try {
    const b = Buffer.alloc(c.size);
    readSync(fd, b, 0, c.size, c.offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Overwrites a cached copy in place with other bytes of its length. */
export function overwriteCopy(c: CachedCopy, bytes: Buffer): void {
  if (bytes.length !== c.size) throw new Error('overwriteCopy: other length');
  const fd = openSync(c.file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, c.offset);
  } finally {
    closeSync(fd);
  }
}
