// The disk cache's pack scan (cache-pack.ts scanPack) over records of every size: tiny ones many to a read
// block, ones larger than a block, keys that straddle a block's end, and a torn tail. Every record is found
// where its appender put it, and the data at that offset is the data appended. The scan reads headers in
// small blocks (not the data of large records: docs/perf-notes.md, "Warm S3 reads after the cache packs").
import { mkdtempSync, readFileSync, rmSync, appendFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PackAppender, PACK_BYTES_MAX, scanPack, KIND_ENTRY } from '../../src/store/cache-pack.js';

const dir = mkdtempSync(join(tmpdir(), 'mic-cache-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cache pack scan', () => {
  it('finds every record of mixed sizes at its offset, and stops at a torn tail', async () => {
    const a = new PackAppender(dir, PACK_BYTES_MAX);
    const sizes = [0, 1, 37, 65_519, 65_536, 200_000, 3, 1_500_000, 90, ...Array.from({ length: 400 }, (_, i) => (i * 7919) % 3000)];
    const want = new Map<string, { data: Buffer; offset: number }>();
    let pack = '';
    for (let i = 0; i < sizes.length; i++) {
      const key = `blobs/${String(i).padStart(4, '0')}/${'k'.repeat(i % 90)}`;
      const data = Buffer.alloc(sizes[i]!, i & 0xff);
      const loc = await a.append(key, data);
      expect(loc).not.toBeNull();
      pack = loc!.pack;
      want.set(key, { data, offset: loc!.offset });
    }
    a.close();
    expect(readdirSync(dir)).toEqual([pack]);
    const file = join(dir, pack);
    // a torn record after the last whole one: a header that promises more bytes than follow
    appendFileSync(file, Buffer.from([0x4d, 0x43, 0x50, 0x31, KIND_ENTRY, 0, 3, 0, 0xff, 0xff, 0, 0]));

    const scanned = await scanPack(file);
    expect(scanned.records.map((r) => r.key)).toEqual([...want.keys()]);
    const bytes = readFileSync(file);
    for (const r of scanned.records) {
      const w = want.get(r.key)!;
      expect(r.offset).toBe(w.offset);
      expect(bytes.subarray(r.offset, r.offset + r.size).equals(w.data)).toBe(true);
    }
    expect(scanned.bytes).toBe(scanned.fileBytes - 12);
  });
});
