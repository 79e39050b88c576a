// Large blobs on a real radosgw: an edit in the middle of a 64 MiB file uploads only the chunks near it,
// and a ranged read downloads only the chunks it needs.
import { describe, expect, it } from 'vitest';
import { createCipheriv } from 'node:crypto';
import { ObjectStore } from '../../src/store/object-store.js';
import { useCluster } from './cluster.js';
import { s3 } from './helpers.js';

const cluster = useCluster();
const MiB = 1024 * 1024;

function seeded(n: number, seed: number): Buffer {
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16)).update(Buffer.alloc(n));
}

describe('chunked blobs on S3', () => {
  it('re-storing a 64 MiB file edited in the middle uploads only a few new objects', async () => {
    const b = s3(cluster());
    const store = new ObjectStore(b, 'acme/big');
    const data = seeded(64 * MiB, 21);
    const h1 = await store.putBlob(data);
    const first = b.puts.length;
    expect(first).toBeGreaterThan(30); // ~1 MiB chunks + the manifest

    const edited = Buffer.from(data);
    edited.write('edited in the middle', 32 * MiB + 4321);
    b.reset();
    const again = new ObjectStore(b, 'acme/big'); // a new process: knows nothing of what is stored
    const h2 = await again.putBlob(edited);
    expect(h2).not.toBe(h1);
    expect(b.puts.length).toBeGreaterThanOrEqual(2);
    expect(b.puts.length).toBeLessThanOrEqual(4); // manifest + the chunk(s) around the edit
    expect(b.puts.some((k) => k.endsWith(h2))).toBe(true);

    // a fresh reader: a 4 KiB read downloads the manifest and one chunk, and the whole file verifies
    const reader = s3(cluster(), { prefix: b.prefix });
    const cold = new ObjectStore(reader, 'acme/big', { readAheadBytes: 0 });
    const off = 40 * MiB;
    expect((await cold.readBlob(h2, off, 4096)).equals(edited.subarray(off, off + 4096))).toBe(true);
    expect(reader.gets.length).toBe(2);
    expect((await cold.getBlob(h2)).equals(edited)).toBe(true);
  });
});
