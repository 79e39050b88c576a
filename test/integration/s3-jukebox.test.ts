// A hung S3 over the wire: the daemon (on S3, --read-wait 300 ms through MIC_READ_WAIT_MS) answers a READ of
// uncached data with NFS3ERR_JUKEBOX (RFC 1813 2.6) while radosgw is frozen, keeps answering other calls,
// and serves the data to the client's retry once radosgw runs again. Integration project: the file freezes
// its own radosgw, which no other test file shares.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../s3/cluster.js';
import { initS3Project, mount, s3DaemonEnv, startS3Daemon, type Mount, type S3Daemon } from '../s3/daemons.js';
import { NfsStatus } from '../lib/nfs3-client.js';

const cluster = useCluster();
const MiB = 1024 * 1024;

describe.sequential('JUKEBOX while S3 hangs', () => {
  let d: S3Daemon;
  let m: Mount;
  const initDir = mkdtempSync(join(tmpdir(), 'micfs-jukebox-init-'));
  const big = randomBytes(12 * MiB);

  beforeAll(async () => {
    const env = s3DaemonEnv(cluster(), `jukebox-${randomBytes(4).toString('hex')}`, { MIC_READ_WAIT_MS: '300' });
    d = await startS3Daemon(env);
    await initS3Project(env, initDir, 'acme/jukebox', { 'big.bin': big, 'small.txt': 'small\n' });
    const s = (await d.api.start({ project: 'acme/jukebox', goal: 'read while S3 hangs' })).session;
    m = await mount(d.d.port, s.export!);
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
});
