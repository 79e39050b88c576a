// A hung S3 over the wire: the daemon (on S3, --read-wait 300 ms through MIC_READ_WAIT_MS) answers a READ of
// uncached data with NFS3ERR_JUKEBOX (RFC 1813 2.6) while radosgw is frozen, keeps answering other calls,
// and serves the data to the client's retry once radosgw runs again. Integration project: the file freezes
// its own radosgw, which no other test file shares.
// Then the fetch worker's path (the compiled daemon GETs, checks and caches in s3-fetch-worker.ts): radosgw
// stopped in the middle of a sequential read, and an object corrupted in the bucket.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../s3/cluster.js';
import { initS3Project, mount, s3DaemonEnv, startS3Daemon, type Mount, type S3Daemon } from '../s3/daemons.js';
import { NfsStatus } from '../lib/nfs3-client.js';
import { s3 } from '../s3/helpers.js';
import { cachedCopy, overwriteCopy, readCopy } from '../s3/cache-packs.js';
import { chunkLengths } from '../../src/store/chunker.js';
import { encodeStored, sha256Hex } from '../../src/store/codec.js';

const cluster = useCluster();
const MiB = 1024 * 1024;

describe.sequential('JUKEBOX while S3 hangs', () => {
  let d: S3Daemon;
  let m: Mount;
  const initDir = mkdtempSync(join(tmpdir(), 'micfs-jukebox-init-'));
  const big = randomBytes(12 * MiB);
  const seq = randomBytes(20 * MiB);
  const victim = randomBytes(6 * MiB);
  // compressible (stored zstd): the worker sends the content it decompressed to check it along
  const text = Buffer.from(Array.from({ length: 160_000 }, (_, i) => `line ${i} of the text ${(i * 7919) % 1000}\n`).join(''));
  let prefix = '';
  let exportPath = '';

  beforeAll(async () => {
    prefix = `jukebox-${randomBytes(4).toString('hex')}`;
    const env = s3DaemonEnv(cluster(), prefix, { MIC_READ_WAIT_MS: '300' });
    d = await startS3Daemon(env);
    await initS3Project(env, initDir, 'acme/jukebox', {
      'big.bin': big,
      'seq.bin': seq,
      'victim.bin': victim,
      'text.txt': text,
      'small.txt': 'small\n',
    });
    const s = (await d.api.start({ project: 'acme/jukebox', goal: 'read while S3 hangs' })).session;
    exportPath = s.export!;
    m = await mount(d.d.port, exportPath);
  }, 180_000);

  afterAll(async () => {
    await cluster()
      .resumeGateway()
      .catch(() => {});
    await m?.client.close();
    await d?.d.stop('SIGTERM', { cleanup: true });
    rmSync(initDir, { recursive: true, force: true });
  });

  it('answers JUKEBOX after --read-wait, goes on answering, and serves the retry once S3 is back', async () => {
    const file = await m.client.lookup(m.root, 'big.bin');
    expect(file.status).toBe(NfsStatus.OK);
    await cluster().pauseGateway();
    try {
      const t0 = Date.now();
      const r = await m.client.read(file.fh!, 5 * MiB, 64 * 1024);
      const waited = Date.now() - t0;
      expect(r.status).toBe(NfsStatus.JUKEBOX);
      expect(waited).toBeGreaterThanOrEqual(290);
      expect(waited).toBeLessThan(1400); // the 1.5 s default would not have answered yet
      expect((await m.client.getattr(file.fh!)).status).toBe(NfsStatus.OK); // other calls go on
    } finally {
      await cluster().resumeGateway();
    }
    let r = await m.client.read(file.fh!, 5 * MiB, 64 * 1024);
    for (let i = 0; i < 50 && r.status === NfsStatus.JUKEBOX; i++) {
      await new Promise((res) => setTimeout(res, 200)); // a client retries after JUKEBOX
      r = await m.client.read(file.fh!, 5 * MiB, 64 * 1024);
    }
    expect(r.status).toBe(NfsStatus.OK);
    expect(r.data!.equals(big.subarray(5 * MiB, 5 * MiB + 64 * 1024))).toBe(true);
  }, 120_000);

  it('radosgw stopped in the middle of a sequential read: errors, never wrong bytes; the daemon stays up and the read completes once it is back', async () => {
    const file = await m.client.lookup(m.root, 'seq.bin');
    expect(file.status).toBe(NfsStatus.OK);
    const statuses = new Set<number>();
    let stopped = false;
    let failedWhileStopped = 0;
    for (let off = 0; off < seq.length;) {
      const r = await m.client.read(file.fh!, off, MiB);
      if (r.status === NfsStatus.OK) {
        // whatever arrives is the file's bytes
        expect(r.data!.equals(seq.subarray(off, off + r.data!.length)), `bytes at ${off}`).toBe(true);
        off += r.data!.length;
        if (off === MiB && !stopped) {
          await cluster().stopGateway(); // read-ahead GETs are under way or about to start
          stopped = true;
        }
        continue;
      }
      statuses.add(r.status);
      expect([NfsStatus.IO, NfsStatus.JUKEBOX]).toContain(r.status);
      expect((await m.client.getattr(file.fh!)).status).toBe(NfsStatus.OK); // the daemon answers on
      if (stopped && ++failedWhileStopped >= 3) {
        await cluster().startGateway();
        stopped = false;
      } else await new Promise((res) => setTimeout(res, 200)); // a client retries after JUKEBOX
    }
    if (stopped) await cluster().startGateway();
    // 8 MiB of read-ahead cannot have fetched 20 MiB before the stop
    expect(failedWhileStopped, [...statuses].join(',')).toBeGreaterThanOrEqual(3);
  }, 180_000);

  it('an object corrupted in the bucket is caught by the fetch worker: EIO, never cached; right again once repaired', async () => {
    const file = await m.client.lookup(m.root, 'victim.bin');
    expect(file.status).toBe(NfsStatus.OK);
    // the file's chunks (content-defined, chunker.ts) and the object of the third
    const lengths = chunkLengths(victim);
    expect(lengths.length).toBeGreaterThan(3);
    const start = lengths[0]! + lengths[1]!;
    const chunk = victim.subarray(start, start + lengths[2]!);
    const h = sha256Hex(chunk);
    const key = `projects/acme/jukebox/blobs/${h.slice(0, 2)}/${h}`;
    const bucket = s3(cluster(), { prefix });
    const good = await bucket.get(key);
    expect(good).not.toBeNull();
    // same length, valid stored format, other content: only the hash can tell
    await bucket.put(key, encodeStored(randomBytes(chunk.length)));
    /** A READ, retried after JUKEBOX as a client does (the fetch goes on behind it). */
    const readRetrying = async (off: number) => {
      let r = await m.client.read(file.fh!, off, 4096);
      for (let i = 0; i < 50 && r.status === NfsStatus.JUKEBOX; i++) {
        await new Promise((res) => setTimeout(res, 200));
        r = await m.client.read(file.fh!, off, 4096);
      }
      return r;
    };
    try {
      const bad = await readRetrying(start + 1000);
      expect(bad.status).toBe(NfsStatus.IO);
      // the chunks around it are served, the daemon is up, and the bad copy was not cached on disk
      const before = await readRetrying(0);
      expect(before.status).toBe(NfsStatus.OK);
      expect(before.data!.equals(victim.subarray(0, 4096))).toBe(true);
      expect(await cachedCopy(d.d.dataDir, key)).toBeNull();
    } finally {
      await bucket.put(key, good!);
    }
    const again = await readRetrying(start + 1000);
    expect(again.status).toBe(NfsStatus.OK);
    expect(again.data!.equals(victim.subarray(start + 1000, start + 1000 + 4096))).toBe(true);
    // fetched again, checked, and now cached by the worker
    const cached = (await cachedCopy(d.d.dataDir, key))!;
    expect(readCopy(cached).equals(good!)).toBe(true);

    // a compressible file, read cold (fetched, checked and decompressed by the worker) and below warm
    const readAll = async (name: string) => {
      const f = await m.client.lookup(m.root, name);
      const parts: Buffer[] = [];
      for (let off = 0; ;) {
        let r = await m.client.read(f.fh!, off, MiB);
        for (let i = 0; i < 50 && r.status === NfsStatus.JUKEBOX; i++) {
          await new Promise((res) => setTimeout(res, 200)); // --read-wait is 300 ms here: a slow fetch answers JUKEBOX
          r = await m.client.read(f.fh!, off, MiB);
        }
        expect(r.status).toBe(NfsStatus.OK);
        parts.push(r.data!);
        off += r.data!.length;
        if (r.eof) return Buffer.concat(parts);
      }
    };
    expect(chunkLengths(text).length).toBeGreaterThan(2);
    expect((await readAll('text.txt')).equals(text)).toBe(true);

    // the cached copy corrupted on disk: after a restart (RAM empty) the worker reads it back, the check
    // fails, and the object is fetched from the bucket again
    overwriteCopy(cached, encodeStored(randomBytes(chunk.length)));
    await m.client.close();
    await d.d.restart({ signal: 'SIGTERM' });
    m = await mount(d.d.port, exportPath);
    const r = await readRetrying(start + 1000); // the file's handle outlives the restart
    expect(r.status).toBe(NfsStatus.OK);
    expect(r.data!.equals(victim.subarray(start + 1000, start + 1000 + 4096))).toBe(true);
    const again2 = (await cachedCopy(d.d.dataDir, key))!; // appended anew (a later record wins)
    expect(again2.file === cached.file && again2.offset === cached.offset).toBe(false);
    expect(readCopy(again2).equals(good!)).toBe(true);
    expect((await readAll('text.txt')).equals(text)).toBe(true); // from the disk cache, through the worker
  }, 120_000);
});
