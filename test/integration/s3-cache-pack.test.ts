// The disk cache's packs (src/store/cache-pack.ts) under the real daemon on radosgw: the daemon SIGKILLed
// while its fetch worker appends the copies of a cold read, packs torn and damaged on top of that, and then
// every read right (damaged copies caught by their hash and fetched again); and a cache on a full disk (a
// small tmpfs), where reads are served from S3 all the same. Integration project: its own data dirs and
// bucket prefixes on the shared radosgw.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useCluster } from '../s3/cluster.js';
import { initS3Project, mount, s3DaemonEnv, type Mount } from '../s3/daemons.js';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { NfsStatus } from '../lib/nfs3-client.js';
import { cachedCopies, overwriteCopy, readCopy } from '../s3/cache-packs.js';

const cluster = useCluster();
const MiB = 1024 * 1024;

/** The whole file over NFS in 1 MiB READs, retried after JUKEBOX as a client does. */
async function readAll(m: Mount, name: string): Promise<Buffer> {
  const f = await m.client.lookup(m.root, name);
  expect(f.status).toBe(NfsStatus.OK);
  const parts: Buffer[] = [];
  for (let off = 0; ;) {
    let r = await m.client.read(f.fh!, off, MiB);
    for (let i = 0; i < 100 && r.status === NfsStatus.JUKEBOX; i++) {
      await new Promise((res) => setTimeout(res, 200));
      r = await m.client.read(f.fh!, off, MiB);
    }
    expect(r.status, `READ at ${off}`).toBe(NfsStatus.OK);
    parts.push(r.data!);
    off += r.data!.length;
    if (r.eof) return Buffer.concat(parts);
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

/** A project on its own prefix holding files, a daemon on a data dir of the test's, a session mounted. */
async function setUp(files: Record<string, Buffer>, dataDir: string, before?: () => void) {
  const prefix = `cache-pack-${randomBytes(4).toString('hex')}`;
  const env = s3DaemonEnv(cluster(), prefix);
  const initDir = mkdtempSync(join(tmpdir(), 'micfs-cache-pack-init-'));
  cleanup.push(() => rmSync(initDir, { recursive: true, force: true }));
  await initS3Project(env, initDir, 'acme/packs', files);
  before?.();
  let d: Daemon = await startDaemon({ env, dataDir, startTimeoutMs: 60_000 });
  const s = await d.startSession('acme/packs', 'read through the cache');
  let m = await mount(d.port, s.export);
  const stopAll = async () => {
    await m.client.close().catch(() => {});
    await d.stop('SIGTERM', { cleanup: false });
  };
  cleanup.push(stopAll);
  return {
    get d() {
      return d;
    },
    get m() {
      return m;
    },
    /** stops the daemon with signal, runs between (the daemon down), starts it again and mounts again */
    async restart(signal: NodeJS.Signals, between?: () => void | Promise<void>) {
      await m.client.close().catch(() => {});
      await d.stop(signal, { cleanup: false });
      await between?.();
      d = await startDaemon({ env, dataDir, startTimeoutMs: 60_000 });
      m = await mount(d.port, s.export);
    },
  };
}

describe.sequential('the disk cache as packs, on radosgw', () => {
  it("SIGKILL while the worker appends a cold read's copies, packs torn and damaged: after the restart every read is right", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'micfs-cache-pack-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const big = randomBytes(24 * MiB);
    const text = Buffer.from(Array.from({ length: 120_000 }, (_, i) => `line ${i}: ${(i * 7919) % 1013}\n`).join(''));
    const t = await setUp({ 'big.bin': big, 'text.txt': text }, dataDir);
    expect((await readAll(t.m, 'text.txt')).equals(text)).toBe(true);
    // the fetch worker's thread carries its name (per-thread CPU figures, top -H, scripts/bench-s3.mjs)
    const threadNames = readdirSync(`/proc/${t.d.pid}/task`).map((tid) => {
      try {
        return readFileSync(`/proc/${t.d.pid}/task/${tid}/comm`, 'utf8').trim();
      } catch {
        return ''; // the thread ended
      }
    });
    expect(threadNames).toContain('mic-s3-fetch');
    // a cold sequential read, killed part way: read-ahead GETs and their appends are under way
    const f = await t.m.client.lookup(t.m.root, 'big.bin');
    for (let off = 0; off < 6 * MiB;) {
      const r = await t.m.client.read(f.fh!, off, MiB);
      if (r.status === NfsStatus.JUKEBOX) {
        await new Promise((res) => setTimeout(res, 100));
        continue;
      }
      expect(r.status).toBe(NfsStatus.OK);
      expect(r.data!.equals(big.subarray(off, off + r.data!.length))).toBe(true);
      off += r.data!.length;
    }
    let damaged = 0;
    await t.restart('SIGKILL', async () => {
      const copies = [...(await cachedCopies(dataDir)).entries()];
      expect(copies.length).toBeGreaterThan(3);
      // on top of what the kill left: the newest pack torn inside its last record, a foreign tail on
      // another, and one copy's bytes changed in place (same length: only its hash can tell)
      const byFile = new Map<string, { key: string; offset: number; size: number }[]>();
      for (const [key, c] of copies) byFile.set(c.file, [...(byFile.get(c.file) ?? []), { key, ...c }]);
      const files = [...byFile.keys()].sort();
      const newest = files[files.length - 1]!;
      const last = byFile.get(newest)!.sort((a, b) => b.offset - a.offset)[0]!;
      truncateSync(newest, last.offset + Math.floor(last.size / 2));
      if (files.length > 1) appendFileSync(files[0]!, randomBytes(333));
      const victim = copies.find(([, c]) => c.file !== newest && c.size > 1000) ?? copies[0]!;
      const bytes = readCopy(victim[1]);
      bytes[bytes.length >> 1] ^= 0x5a;
      overwriteCopy(victim[1], bytes);
      damaged++;
    });
    expect(damaged).toBe(1);
    const held = (await cachedCopies(dataDir)).size;
    expect(held).toBeGreaterThan(1); // what lies before the damage is still there
    expect((await readAll(t.m, 'big.bin')).equals(big)).toBe(true);
    expect((await readAll(t.m, 'text.txt')).equals(text)).toBe(true);
    // and again from the cache alone after a clean restart: every copy now checks out
    await t.restart('SIGTERM');
    expect((await readAll(t.m, 'big.bin')).equals(big)).toBe(true);
    expect((await readAll(t.m, 'text.txt')).equals(text)).toBe(true);
  }, 240_000);

  it('a cache on a full disk does not fail reads: they are served from S3, and the daemon stays up', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'micfs-cache-full-'));
    const cacheDir = join(dataDir, 'cache');
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const big = randomBytes(20 * MiB);
    const t = await setUp({ 'big.bin': big }, dataDir, () => {
      mkdirSync(cacheDir, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', cacheDir]);
    });
    cleanup.push(() => {
      try {
        execFileSync('umount', ['-l', cacheDir]);
      } catch {
        /* not mounted */
      }
    });
    expect((await readAll(t.m, 'big.bin')).equals(big)).toBe(true);
    // the cache did fill its disk (the copies it holds are what fit), and the read went on without it
    const st = statfsSync(cacheDir);
    expect(st.bavail * st.bsize).toBeLessThan(2 * MiB);
    const held = await cachedCopies(dataDir);
    expect(held.size).toBeGreaterThan(0);
    for (const c of held.values()) expect(statSync(c.file).size).toBeGreaterThanOrEqual(c.offset + c.size);
    // a failed append does not leave a pack behind for each object that did not fit
    await expect.poll(() => readdirSync(join(cacheDir, 'packs')).length, { timeout: 5000 }).toBeLessThanOrEqual(3);
    // again after a restart, the disk still full: what the cache holds is served, the rest from S3
    await t.restart('SIGTERM');
    expect((await readAll(t.m, 'big.bin')).equals(big)).toBe(true);
    expect((await t.m.client.getattr(t.m.root)).status).toBe(NfsStatus.OK);
  }, 240_000);
});
