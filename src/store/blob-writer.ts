// Stores a file's content as a blob without holding it in memory: small content in one object, large
// content cut into the same content-defined chunks ObjectStore.putBlob makes (each cut depends only
// on the chunk's first CHUNK_MAX bytes, so a window of CHUNK_MAX past the cut point is enough), then
// its manifest, so a manifest never names a missing chunk. Memory: one window of 2 x CHUNK_MAX and at most 4 chunks on their way to the store.
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { CHUNK_MAX, cutLength } from './chunker.js';
import { CHUNK_THRESHOLD, encodeManifest, makeManifest, type ChunkRef } from './manifest.js';
import { objectRelKey } from './keys.js';
import type { ObjectStore } from './object-store.js';

/** Stores the file at `path` as a blob of `store`; returns its SHA-256 hex and size. */
export async function putBlobFile(store: ObjectStore, path: string): Promise<{ hash: string; size: number }> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size <= CHUNK_THRESHOLD) {
      const data = size === 0 ? Buffer.alloc(0) : (await fh.read(Buffer.alloc(size), 0, size, 0)).buffer;
      return { hash: await store.putBlob(data), size };
    }
    const whole = createHash('sha256');
    const window = Buffer.allocUnsafe(2 * CHUNK_MAX);
    let have = 0; // bytes in window
    let pos = 0; // file offset of window[0]
    const chunks: ChunkRef[] = [];
    const puts: Promise<string>[] = [];
    while (pos + have < size || have > 0) {
      // keep CHUNK_MAX bytes past the cut point whenever the file has them
      while (have < window.length && pos + have < size) {
        const { bytesRead } = await fh.read(window, have, window.length - have, pos + have);
        if (bytesRead === 0) throw new Error(`${path} shrank while it was stored`);
        have += bytesRead;
      }
      const len = cutLength(window, 0, have);
      const part = Buffer.from(window.subarray(0, len)); // a copy: the window is reused
      whole.update(part);
      const idx = chunks.push({ hash: '', length: len }) - 1;
      puts.push(store.putBlob(part).then((h) => { chunks[idx] = { hash: h, length: len }; return h; }));
      window.copy(window, 0, len, have);
      have -= len;
      pos += len;
      if (puts.length >= 4) await Promise.all(puts.splice(0));
    }
    await Promise.all(puts);
    const hash = whole.digest('hex');
    if (!(await store.hasBlob(hash))) {
      await store.backend.put(store.key(objectRelKey('blobs', hash)), encodeManifest(makeManifest(hash, chunks)));
    }
    return { hash, size };
  } finally {
    await fh.close();
  }
}
