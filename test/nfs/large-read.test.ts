// READ of a large base file (stored as chunks) through the daemon and the project's NFS client.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../../src/daemon/daemon.js';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { importTree, initProject } from '../../src/session/project.js';
import { startSession } from '../../src/session/start.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { seeded } from '../store/seeded.js';
import { readRaw } from './read-raw.js';

const MiB = 1024 * 1024;
const big = seeded(9 * MiB + 333, 42);
let dataDir: string;
let daemon: Awaited<ReturnType<typeof startDaemon>>;
let client: Nfs3Client;
let fh: Buffer;
let chunks: { hash: string; length: number }[];

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'micfs-large-read-'));
  const src = path.join(dataDir, 'import');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'big.bin'), big);
  const catalog = openCatalog(dataDir);
  const store = catalog.store('test/large');
  const { tree, nextIno } = await importTree(store, src);
  chunks = (await store.blobChunks((await store.lookupDir(tree, 'big.bin'))!.hash!))!;
  expect(chunks.length).toBeGreaterThan(2);
  await initProject(store, tree, nextIno, 'big');
  await startSession(catalog, { project: 'test/large', goal: 'large reads', sessionId: 'big', owner: { uid: 0, gid: 0 } });
  daemon = await startDaemon({ dataDir, bind: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], log: pino({ level: 'silent' }) });
  client = await Nfs3Client.connect(daemon.port, '127.0.0.1');
  const root = await client.mountRoot('/exports/sessions/big');
  const l = await client.lookup(root, 'big.bin');
  expect(l.status).toBe(NfsStatus.OK);
  fh = l.fh!;
});

afterAll(async () => {
  await client?.close();
  await daemon?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('READ of a chunked base file', () => {
  it('reads the whole file sequentially, in parallel windows, and an edit after copy-up', async () => {
    const parts: Buffer[] = [];
    for (let off = 0; off < big.length; off += 4 * MiB) {
      // four 1 MiB READs in flight at once, as a client's read-ahead sends them
      const res = await Promise.all([0, 1, 2, 3].map((i) => client.read(fh, off + i * MiB, MiB)));
      for (const r of res) {
        expect(r.status).toBe(NfsStatus.OK);
        parts.push(r.data!);
      }
      expect(res.some((r) => r.eof)).toBe(off + 4 * MiB >= big.length);
    }
    expect(Buffer.concat(parts).equals(big)).toBe(true);
    // raw replies of READs over each chunk boundary, of odd lengths (the chunks go out by reference, then the
    // XDR padding): exact length, data and a zero padding
    let boundary = 0;
    for (const c of chunks) {
      boundary += c.length;
      if (boundary >= big.length) break;
      for (const [back, count] of [
        [1, MiB - 1],
        [4097, MiB - 2],
        [MiB - 10, MiB - 3],
      ] as const) {
        const off = Math.max(0, boundary - back);
        const got = await readRaw(client, fh, off, count);
        expect(got.data.equals(big.subarray(off, off + count))).toBe(true);
      }
    }
    const w = await client.write(fh, 5 * MiB, Buffer.from('patched'), StableHow.FILE_SYNC);
    expect(w.status).toBe(NfsStatus.OK);
    const r = await client.read(fh, 5 * MiB - 3, 13);
    expect(r.data!.toString('latin1')).toBe(
      big.subarray(5 * MiB - 3, 5 * MiB).toString('latin1') + 'patched' + big.subarray(5 * MiB + 7, 5 * MiB + 10).toString('latin1'),
    );
  });
});
