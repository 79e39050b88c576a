// Handing a session from one daemon to another on one bucket, and the background sealer that keeps
// sessions/<id>/tree.json current (real radosgw, real daemon processes, NFS through the TypeScript client).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MicClient } from '../../src/api/client.js';
import { ObjectStore } from '../../src/store/object-store.js';
import type { TreeDoc } from '../../src/session/seal.js';
import { MountStat, NfsStatus } from '../lib/nfs3-client.js';
import { apiClientOf } from '../lib/daemon.js';
import { useCluster } from './cluster.js';
import { freshPrefix, s3 } from './helpers.js';
import { initS3Project, mountTracker, readNfs, s3DaemonEnv, startS3Daemon, writeNfs, type S3Daemon } from './daemons.js';

const PROJECT = 'acme/handoff';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.sequential('handoff between daemons', () => {
  const cluster = useCluster();
  let d1: S3Daemon, d2: S3Daemon;
  let store: ObjectStore;
  const { mountOn, closeAll } = mountTracker();

  beforeAll(async () => {
    const prefix = freshPrefix();
    const env = s3DaemonEnv(cluster(), prefix, { MIC_SEAL_DELAY: '0.5' });
    d1 = await startS3Daemon(env);
    d2 = await startS3Daemon(env);
    await initS3Project(env, d1.d.dataDir, PROJECT, { 'README.md': 'readme v1\n', 'src/main.c': 'int main() {}\n' });
    store = new ObjectStore(s3(cluster(), { prefix }), PROJECT);
  }, 120_000);

  afterAll(() => closeAll(d1, d2));

  const treeDoc = (id: string) => store.getJson<TreeDoc>(`sessions/${id}/tree.json`);

  async function fileIn(tree: string, path: string): Promise<string | null> {
    const parts = path.split('/');
    let dir = tree;
    for (let i = 0; i < parts.length; i++) {
      const e = await store.lookupDir(dir, parts[i]);
      if (!e) return null;
      if (i === parts.length - 1) return (await store.getBlob(e.hash!)).toString('utf8');
      dir = e.hash!;
    }
    return null;
  }

  it('keeps tree.json current: a changed session is sealed in the background, an idle one is not', async () => {
    const s = (await d1.api.start({ project: PROJECT, goal: 'background sealing' })).session;
    const m = await mountOn(d1, s.export!);
    await writeNfs(m, 'notes.txt', 'first\n');
    let doc: TreeDoc | null = null;
    for (let i = 0; i < 100 && (await fileIn((doc = await treeDoc(s.session_id))?.tree ?? s.base_tree, 'notes.txt')) !== 'first\n'; i++)
      await sleep(200);
    expect(doc?.base).toBe(s.base_tree);
    expect(doc?.base_head).toBe(s.base_head);
    expect(await fileIn(doc!.tree, 'notes.txt')).toBe('first\n');

    await writeNfs(m, 'notes.txt', 'second\n');
    for (let i = 0; i < 100 && (await fileIn((doc = await treeDoc(s.session_id))!.tree, 'notes.txt')) !== 'second\n'; i++) await sleep(200);
    expect(await fileIn(doc!.tree, 'notes.txt')).toBe('second\n');

    // idle: nothing is sealed again
    const sealedAt = doc!.sealed_at;
    await sleep(2500);
    expect((await treeDoc(s.session_id))!.sealed_at).toBe(sealedAt);
    await d1.api.abandon(s.session_id);
  }, 120_000);

  it('hands a session from one daemon to another: files, further writes and landing carry over', async () => {
    const s = (await d1.api.start({ project: PROJECT, goal: 'handed over' })).session;
    const id = s.session_id;
    const m1 = await mountOn(d1, s.export!);
    await writeNfs(m1, 'handoff/a.txt', 'one\n');
    await writeNfs(m1, 'README.md', 'readme v2\n');

    const r = await d1.d.mic(['session', 'handoff', id, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const handed = JSON.parse(r.stdout) as { tree: string; handed_off_by: string };
    expect(handed.handed_off_by).toBe(d1.node);
    expect((await treeDoc(id))!.tree).toBe(handed.tree);
    expect(await fileIn(handed.tree, 'handoff/a.txt')).toBe('one\n');

    // the export on d1 is closed, and d1 does not take the session back by itself, even after a restart
    expect((await m1.client.getattr(m1.root)).status).toBe(NfsStatus.STALE);
    await d1.d.restart({ signal: 'SIGTERM' });
    d1 = { ...d1, api: apiOf(d1) };
    await expect(d1.api.files(id, { files: [{ path: 'x.txt', change_type: 'added', content: 'x' }] })).rejects.toMatchObject({
      status: 409,
      body: { error: 'handed_off' },
    });
    const shown = (await d1.api.get(id)).session;
    expect(shown.served_by).toBeNull();
    expect(shown.status).toBe('active');
    expect(shown.changes).toMatchObject({ added: 1, modified: 1 }); // from tree.json, measured to the base

    const sv = await d2.d.mic(['session', 'serve', id, '--json']);
    expect(sv.code, sv.stderr).toBe(0);
    const served = JSON.parse(sv.stdout) as { served_by: string; previous: string | null; took_over: boolean; tree: string };
    expect(served).toMatchObject({ served_by: d2.node, previous: null, took_over: true, tree: handed.tree });

    // now d1 may neither serve nor mount it
    await expect(d1.api.serve(id)).rejects.toMatchObject({ status: 409, body: { error: 'served_elsewhere' } });
    const c1 = await mountOn(d1, '/exports/sessions/' + id).catch((e: Error) => e);
    expect(c1).toBeInstanceOf(Error);
    expect(String(c1)).toContain(`mountstat ${MountStat.ACCES}`);

    const m2 = await mountOn(d2, s.export!);
    expect(await readNfs(m2, 'handoff/a.txt')).toBe('one\n');
    expect(await readNfs(m2, 'README.md')).toBe('readme v2\n');
    expect(await readNfs(m2, 'src/main.c')).toBe('int main() {}\n');
    await writeNfs(m2, 'handoff/b.txt', 'two\n');

    // changes are measured against the session's base, not the tree it was handed off with
    const ch = await d2.api.changes(id, { content: false });
    expect(ch.base_tree).toBe(s.base_tree);
    const kinds = Object.fromEntries(ch.changes.map((c) => [c.path, c.change_type]));
    expect(kinds).toMatchObject({ 'handoff/a.txt': 'added', 'handoff/b.txt': 'added', 'README.md': 'modified' });

    const landed = await d2.api.land(id, { message: 'landed on d2' });
    expect(landed.head.parent).toBe(s.base_head);
    for (const [p, want] of [
      ['handoff/a.txt', 'one\n'],
      ['handoff/b.txt', 'two\n'],
      ['README.md', 'readme v2\n'],
      ['src/main.c', 'int main() {}\n'],
    ]) {
      expect(await fileIn(landed.head.tree, p)).toBe(want);
    }
    const timeline = (await d1.api.get(id)).session.timeline.map((e) => e.type);
    expect(timeline).toEqual(expect.arrayContaining(['handed_off', 'served', 'landed']));
  }, 180_000);

  it('serve --force takes a session from a daemon that holds it; that daemon can no longer land it', async () => {
    const s = (await d1.api.start({ project: PROJECT, goal: 'forced' })).session;
    const m1 = await mountOn(d1, s.export!);
    await writeNfs(m1, 'forced.txt', 'recorded\n');
    await expect(d2.api.serve(s.session_id)).rejects.toMatchObject({ status: 409, body: { error: 'served_elsewhere' } });
    for (let i = 0; i < 100 && (await fileIn((await treeDoc(s.session_id))?.tree ?? s.base_tree, 'forced.txt')) === null; i++)
      await sleep(200);

    const served = await d2.api.serve(s.session_id, { force: true });
    expect(served).toMatchObject({ served_by: d2.node, previous: d1.node, took_over: true });
    await expect(d1.api.land(s.session_id)).rejects.toMatchObject({ status: 409, body: { error: 'served_elsewhere' } });
    expect((await m1.client.getattr(m1.root)).status).toBe(NfsStatus.STALE);

    const m2 = await mountOn(d2, s.export!);
    expect(await readNfs(m2, 'forced.txt')).toBe('recorded\n');
    const landed = await d2.api.land(s.session_id);
    expect(await fileIn(landed.head.tree, 'forced.txt')).toBe('recorded\n');
  }, 120_000);
});

function apiOf(d: S3Daemon): MicClient {
  return apiClientOf(d.d.dataDir);
}
