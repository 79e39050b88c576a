// READ of a landed (base) file whose range spans two chunks: the result hands over the cached chunks' bytes by
// reference (ReadResult.parts), not joined into a copy, and they are exactly the blob's bytes at that range.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { LocalBackend } from '../../src/store/index.js';
import { Catalog } from '../../src/session/catalog.js';
import { DirectHost } from '../../src/session/host.js';
import { startSession } from '../../src/session/start.js';
import { SessionFs } from '../../src/fs/session-fs.js';
import { HandleCodec } from '../../src/fs/handles.js';
import { importTree, initProject } from '../../src/session/project.js';
import type { ReadResult } from '../../src/fs/file-system.js';
import { tempDir, writeFiles } from '../session/helpers.js';
import { seeded } from '../store/seeded.js';

const ROOT = { uid: 0, gid: 0, gids: [] };
const MiB = 1024 * 1024;

describe('READ of a landed file over a chunk boundary', () => {
  it('answers the chunks by reference, exactly the blob’s bytes', async () => {
    const dataDir = await tempDir();
    const catalog = new Catalog(new LocalBackend(join(dataDir, 'objects')));
    const store = catalog.store('t/parts');
    const big = seeded(6 * MiB + 7, 3);
    const src = await tempDir('micfs-src-');
    await writeFiles(src, { 'big.bin': big });
    const { tree, nextIno } = await importTree(store, src);
    await initProject(store, tree, nextIno, 'import');
    const hash = (await store.lookupDir(tree, 'big.bin'))!.hash!;
    const chunks = (await store.blobChunks(hash))!;
    expect(chunks.length).toBeGreaterThan(2);
    const r = await startSession(catalog, { project: 't/parts', goal: 'parts' });
    const host = new DirectHost(catalog, dataDir, randomBytes(32));
    try {
      const fs = await host.open(r);
      const nfs = new SessionFs(fs, { fsid: 1n, handles: new HandleCodec(randomBytes(32)), log: pino({ level: 'silent' }) });
      const fh = (await nfs.lookup(nfs.rootHandle(), 'big.bin', ROOT)).node.fh;
      // ranges of odd lengths over the first and second chunk boundaries
      let boundary = 0;
      for (const c of chunks.slice(0, 2)) {
        boundary += c.length;
        const offset = boundary - 1001;
        const count = MiB - 3;
        const res: ReadResult = await nfs.read(fh, offset, count, ROOT, undefined, true);
        expect(res.parts).toBeDefined();
        expect(res.parts!.length).toBe(2);
        // the very bytes the blob cache holds: nothing was copied
        const cached = store.cachedSlices(hash, offset, count)!.parts;
        expect(cached.length).toBe(2);
        for (let i = 0; i < 2; i++) {
          expect(res.parts![i]!.buffer).toBe(cached[i]!.buffer);
          expect(res.parts![i]!.byteOffset).toBe(cached[i]!.byteOffset);
        }
        const want = big.subarray(offset, offset + count);
        expect(Buffer.concat(res.parts as Buffer[]).equals(want)).toBe(true);
        expect(res.data.equals(want)).toBe(true); // joined for a caller that reads data
        expect(res.eof).toBe(false);
      }
      // the file's tail: over the last boundary to the end, eof
      const last = big.length - chunks[chunks.length - 1]!.length;
      const res = await nfs.read(fh, last - 5, MiB * 8, ROOT, undefined, true);
      expect(res.eof).toBe(true);
      expect(Buffer.concat((res.parts ?? [res.data]) as Buffer[]).equals(big.subarray(last - 5))).toBe(true);
    } finally {
      await host.closeAll();
    }
  });
});
