// Streamed chunking (ObjectStore.putBlobFrom) cuts, hashes and stores exactly as chunking the whole
// content at once (putBlob), including runs of zeros (recognised without the byte loop).
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalBackend, ObjectStore } from '../../src/store/index.js';
import { seeded } from './seeded.js';

const MiB = 1024 * 1024;

function content(): Buffer {
  // random, a long hole, random, a hole reaching the end: every path through the streaming window
  return Buffer.concat([seeded(7 * MiB + 123, 3), Buffer.alloc(13 * MiB + 7), seeded(5 * MiB, 4), Buffer.alloc(9 * MiB + 1)]);
}

describe('putBlobFrom', () => {
  it('stores the same blob, with the same chunks, as putBlob', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'micfs-stream-'));
    try {
      const data = content();
      const a = new ObjectStore(new LocalBackend(path.join(tmp, 'a'), { fsync: false }), 't/a');
      const b = new ObjectStore(new LocalBackend(path.join(tmp, 'b'), { fsync: false }), 't/a');
      const h1 = await a.putBlob(data);
      let reads = 0;
      const h2 = await b.putBlobFrom(data.length, (buf, len, off) => {
        reads++;
        return data.copy(buf, 0, off, off + len);
      });
      expect(h2).toBe(h1);
      expect(reads).toBeGreaterThan(3); // read piece by piece
      expect(await b.blobChunks(h2)).toEqual(await a.blobChunks(h1));
      expect((await b.getBlob(h2)).equals(data)).toBe(true);
      const small = seeded(1000, 9);
      expect(await b.putBlobFrom(small.length, (buf, len, off) => small.copy(buf, 0, off, off + len))).toBe(await a.putBlob(small));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
