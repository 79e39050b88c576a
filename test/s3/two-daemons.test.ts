// Two daemons on one bucket, each with its own data directory (real radosgw, real daemon processes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from './cluster.js';
import { freshPrefix } from './helpers.js';
import { initS3Project, mountTracker, readNfs, s3DaemonEnv, startS3Daemon, writeNfs, type S3Daemon } from './daemons.js';

const PROJECT = 'acme/two';
const N = 8;
const files: Record<string, string> = { 'README.md': 'two daemons\n' };
for (let i = 0; i < N; i++) files[`shared/f${i}.txt`] = `original ${i}\n`;

describe.sequential('two daemons on one bucket', () => {
  const cluster = useCluster();
  let d1: S3Daemon, d2: S3Daemon;
  const { mountOn, closeAll } = mountTracker();

  beforeAll(async () => {
    const env = s3DaemonEnv(cluster(), freshPrefix(), { MIC_SEAL_DELAY: '1' });
    d1 = await startS3Daemon(env);
    d2 = await startS3Daemon(env);
    await initS3Project(env, d1.d.dataDir, PROJECT, files);
  }, 120_000);

  afterAll(() => closeAll(d1, d2));

  it('the daemons are distinct nodes', () => {
    expect(d1.node).not.toBe(d2.node);
    expect(d1.d.dataDir).not.toBe(d2.d.dataDir);
  });

  it('a session landed through one daemon is the head new sessions on the other start from', async () => {
    const s = (await d1.api.start({ project: PROJECT, goal: 'seed through d1' })).session;
    const m = await mountOn(d1, s.export!);
    await writeNfs(m, 'seed/from-d1.txt', 'landed through d1\n');
    const landed = await d1.api.land(s.session_id, { message: 'seed' });
    expect((await d2.api.head(PROJECT)).head.hash).toBe(landed.head.hash);

    const t = (await d2.api.start({ project: PROJECT, goal: 'starts on d2' })).session;
    expect(t.base_head).toBe(landed.head.hash);
    const m2 = await mountOn(d2, t.export!);
    expect(await readNfs(m2, 'seed/from-d1.txt')).toBe('landed through d1\n');
    await d2.api.abandon(t.session_id);
  }, 120_000);

  it('eight sessions, four on each daemon, land disjoint changes at the same time: none is lost', async () => {
    const before = (await d1.api.head(PROJECT)).head.hash;
    const sessions = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const d = i < N / 2 ? d1 : d2;
        const s = (await d.api.start({ project: PROJECT, goal: `session ${i}`, session_id: `two-${i}` })).session;
        expect(s.base_head).toBe(before);
        return { i, d, s };
      }),
    );
    // changes through NFS, each on the daemon that serves the session
    await Promise.all(
      sessions.map(async ({ i, d, s }) => {
        const m = await mountOn(d, s.export!);
        await writeNfs(m, `shared/f${i}.txt`, `changed by session ${i}\n`);
        await writeNfs(m, `work-${i}/notes.txt`, `notes of session ${i}\n`);
      }),
    );
    // another daemon cannot open a session this one serves
    await expect(d2.api.files('two-0', { files: [{ path: 'x.txt', change_type: 'added', content: 'x' }] })).rejects.toMatchObject({
      status: 409,
      body: { error: 'served_elsewhere' },
    });
    await expect(d1.api.abandon(`two-${N - 1}`)).rejects.toMatchObject({ status: 409, body: { error: 'served_elsewhere' } });

    const landed = await Promise.all(sessions.map(({ i, d, s }) => d.api.land(s.session_id, { message: `land ${i}` })));
    for (const l of landed) expect(l.session.status).toBe('landed');

    const head1 = (await d1.api.head(PROJECT)).head;
    const head2 = (await d2.api.head(PROJECT)).head;
    expect(head2.hash).toBe(head1.hash);
    // the history holds all eight landings, one after another, each exactly once
    const log = await d2.api.log(PROJECT, { limit: N + 1 });
    expect(log.heads[N].hash).toBe(before);
    expect(new Set(log.heads.slice(0, N).map((h) => h.session))).toEqual(new Set(sessions.map(({ s }) => s.session_id)));
    expect(new Set(landed.map((l) => l.head.hash)).size).toBe(N);
    // blame (its index written on S3 by both daemons after their CAS) names each file's landing on either daemon
    const first = (await d1.api.log(PROJECT, { limit: 50 })).heads.at(-1)!;
    expect(first.parent).toBeNull();
    for (const d of [d1, d2]) {
      for (let i = 0; i < N; i++) expect((await d.api.blame(PROJECT, `shared/f${i}.txt`)).head.hash).toBe(landed[i].head.hash);
      expect((await d.api.blame(PROJECT, 'README.md')).head.hash).toBe(first.hash);
    }

    // new sessions on either daemon start from that head and see every change
    for (const d of [d1, d2]) {
      const s = (await d.api.start({ project: PROJECT, goal: 'check the head' })).session;
      expect(s.base_head).toBe(head1.hash);
      const m = await mountOn(d, s.export!);
      for (let i = 0; i < N; i++) {
        expect(await readNfs(m, `shared/f${i}.txt`)).toBe(`changed by session ${i}\n`);
        expect(await readNfs(m, `work-${i}/notes.txt`)).toBe(`notes of session ${i}\n`);
      }
      expect(await readNfs(m, 'README.md')).toBe('two daemons\n');
      expect(await readNfs(m, 'seed/from-d1.txt')).toBe('landed through d1\n');
      await d.api.abandon(s.session_id);
    }
  }, 240_000);
});
