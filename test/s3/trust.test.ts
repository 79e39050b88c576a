// Issue 8 on a real radosgw: a landing whose winning CAS is reported lost (the read-back ABA) lands once
// (item 20); mic fsck checks an S3 store (item 3); a session whose holder stopped is taken over once its
// lease expires, and the old holder, woken up, can no longer write (item 7).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMic } from '../lib/daemon.js';
import { NfsStatus } from '../lib/nfs3-client.js';
import { fsck } from '../../src/session/fsck.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { objectRelKey } from '../../src/store/keys.js';
import { initS3Project, mountTracker, readNfs, s3DaemonEnv, startS3Daemon, writeNfs, type S3Daemon } from './daemons.js';
import { freshPrefix } from './helpers.js';
import { Catalog } from '../../src/session/catalog.js';
import { DirectHost } from '../../src/session/host.js';
import { SessionService } from '../../src/session/service.js';
import { importTree, initProject } from '../../src/session/project.js';
import { handleSecret } from '../../src/daemon/data-dir.js';
import { writeFiles } from '../session/helpers.js';
import { useCluster } from './cluster.js';
import { CountingS3, s3Options, tempDir } from './helpers.js';
import type { S3BackendOptions } from '../../src/store/s3-backend.js';

const PROJECT = 'acme/trust';

/**
 * radosgw as it is, except that once armed, a conditional PUT of a head ref that wins is reported lost,
 * after `between` has run: exactly what S3Backend.casRef returns when the answer to a winning PUT is lost
 * (or a 500) and another landing moves the head before the read-back (which then sees the other's ref).
 */
class AbaS3 extends CountingS3 {
  between: (() => Promise<void>) | null = null;
  constructor(o: S3BackendOptions) {
    super(o);
  }
  override async casRef(key: string, data: Buffer, expect: string | null): Promise<boolean> {
    const won = await super.casRef(key, data, expect);
    const hook = key.endsWith('/head') ? this.between : null;
    if (!won || !hook) return won;
    this.between = null;
    await hook();
    return false;
  }
}

function service(backend: CountingS3, dataDir: string): { svc: SessionService; host: DirectHost } {
  const catalog = new Catalog(backend);
  const host = new DirectHost(catalog, dataDir, handleSecret(dataDir));
  return { svc: new SessionService({ catalog, host, dataDir }), host };
}

const cluster = useCluster(); // one radosgw for the file

describe.sequential('trust on radosgw', () => {
  let opts: S3BackendOptions;
  const hosts: DirectHost[] = [];

  beforeAll(async () => {
    opts = s3Options(cluster());
    const src = await tempDir();
    await writeFiles(src, { 'README.md': 'trust\n', 'a.txt': 'a\n' });
    const store = new Catalog(new CountingS3(opts)).store(PROJECT);
    const { tree, nextIno } = await importTree(store, src);
    await initProject(store, tree, nextIno, 'import');
  }, 120_000);

  afterAll(async () => {
    for (const h of hosts) await h.closeAll();
  });

  it('item 20: a landing whose CAS won but was reported lost (ABA) lands once, not twice', async () => {
    const aba = new AbaS3(opts);
    const a = service(aba, await tempDir());
    const b = service(new CountingS3(opts), await tempDir());
    hosts.push(a.host, b.host);
    const sa = (await a.svc.start({ project: PROJECT, goal: 'lands once' })).session.session_id;
    const sb = (await b.svc.start({ project: PROJECT, goal: 'lands on top' })).session.session_id;
    await a.svc.files(sa, { files: [{ path: 'from-a.txt', change_type: 'added', content: 'a\n' }] });
    await b.svc.files(sb, { files: [{ path: 'from-b.txt', change_type: 'added', content: 'b\n' }] });
    aba.between = async () => {
      await b.svc.land(sb, { message: 'b on top of a' });
    };

    const landed = await a.svc.land(sa, { message: 'a' });
    const log = (await a.svc.log(PROJECT, { limit: 10 })).heads;
    expect(log.map((h) => h.session)).toEqual([sb, sa, null]); // a once, under b
    expect(landed.head.hash).toBe(log[1]!.hash);
    expect((await a.svc.get(sa)).session).toMatchObject({ status: 'landed', landed_head: log[1]!.hash });
  }, 120_000);

  it('item 3: fsck checks the S3 store, the library and mic fsck alike', async () => {
    const b = new CountingS3(opts);
    expect((await fsck(b)).problems).toBe(0);
    const store = new ObjectStore(b, PROJECT);
    const head = (await store.getHead())!;
    const a = (await store.lookupDir(head.record.tree, 'from-a.txt'))!;
    const key = store.key(objectRelKey('blobs', a.hash!));
    const saved = (await b.get(key))!;
    await b.delete(key);
    try {
      const env = s3DaemonEnv(cluster(), opts.prefix!);
      const r = await runMic(['fsck', '--project', PROJECT, '--data-dir', await tempDir()], { env });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`missing ${key}: blob not in the store (named by head ${head.hash.slice(0, 12)}`);
      expect(r.stdout).toMatch(/: \/(from-)?a\.txt\)/); // one blob: both files hold a line "a"
    } finally {
      await b.put(key, saved);
    }
    expect((await fsck(b)).problems).toBe(0);
  }, 120_000);
});

describe.sequential('leases: two daemons on radosgw', () => {
  const LEASE = 2000;
  const P = 'acme/lease';
  let d1: S3Daemon, d2: S3Daemon;
  let stopped = false;
  const { mountOn, closeAll } = mountTracker();
  let env: Record<string, string>;

  beforeAll(async () => {
    env = s3DaemonEnv(cluster(), freshPrefix(), { MIC_SEAL_DELAY: '1', MIC_LEASE_MS: String(LEASE) });
    d1 = await startS3Daemon(env);
    d2 = await startS3Daemon(env);
    await initS3Project(env, d1.d.dataDir, P, { 'README.md': 'lease\n' });
  }, 120_000);

  afterAll(async () => {
    if (stopped) process.kill(d1.d.pid, 'SIGCONT');
    await closeAll(d1, d2);
  });

  const holder = async (id: string) => {
    const store = new ObjectStore(new CountingS3({ ...s3Options(cluster()), prefix: env.MIC_S3_PREFIX }), P);
    const got = await store.backend.getRef(store.key(`sessions/${id}/holder`));
    return JSON.parse(got!.data.toString('utf8')) as { holder: string; generation: number; expires: string };
  };
  const until = async (what: string, f: () => Promise<boolean>) => {
    for (let i = 0; !(await f()); i++) {
      if (i > 600) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('item 7: the holder renews; a stopped holder loses the session to another daemon and cannot write any more', async () => {
    const s = (await d1.api.start({ project: P, goal: 'held by d1' })).session;
    const m1 = await mountOn(d1, s.export!);
    await writeNfs(m1, 'before.txt', 'written through d1\n');
    await d1.api.changes(s.session_id); // sealed and recorded in tree.json
    const first = await holder(s.session_id);
    expect(first).toMatchObject({ holder: d1.node, generation: 0 });

    // renewed: past the first expiry the session is still d1's
    await until('the first lease has run out', async () => Date.now() > Date.parse(first.expires) + 200);
    await expect(d2.api.serve(s.session_id)).rejects.toMatchObject({ status: 409, body: { error: 'served_elsewhere' } });
    expect(Date.parse((await holder(s.session_id)).expires)).toBeGreaterThan(Date.now());

    // d1 stops (SIGSTOP): once its lease expires, d2 may take the session over
    const fh = (await m1.client.lookup(m1.root, 'before.txt')).fh!;
    process.kill(d1.d.pid, 'SIGSTOP');
    stopped = true;
    const last = await holder(s.session_id);
    await until("d1's lease has expired", async () => Date.now() > Date.parse(last.expires) + 200);
    const served = await d2.api.serve(s.session_id);
    expect(served).toMatchObject({ took_over: true, previous: d1.node });
    expect(await holder(s.session_id)).toMatchObject({ holder: d2.node, generation: 1 });
    const m2 = await mountOn(d2, s.export!);
    expect(await readNfs(m2, 'before.txt')).toBe('written through d1\n');
    await writeNfs(m2, 'after.txt', 'written through d2\n');

    // d1 wakes up: its lease has lapsed, so it answers no write, then learns it lost the session
    process.kill(d1.d.pid, 'SIGCONT');
    stopped = false;
    const w = await m1.client.write(fh, 0, Buffer.from('stale holder\n'));
    expect([NfsStatus.JUKEBOX, NfsStatus.STALE]).toContain(w.status);
    await until('d1 has closed the session', async () => (await m1.client.write(fh, 0, Buffer.from('x'))).status === NfsStatus.STALE);
    await expect(d1.api.land(s.session_id)).rejects.toMatchObject({ status: 409 });
    expect(d1.d.logLines((l) => String(l.msg).startsWith('lease lost')).length).toBeGreaterThan(0);

    // d2 lands what the session holds: d1's recorded write and d2's, nothing d1 did after waking
    const landed = await d2.api.land(s.session_id);
    const next = (await d2.api.start({ project: P, goal: 'check' })).session;
    const m3 = await mountOn(d2, next.export!);
    expect(next.base_head).toBe(landed.head.hash);
    expect(await readNfs(m3, 'before.txt')).toBe('written through d1\n');
    expect(await readNfs(m3, 'after.txt')).toBe('written through d2\n');
  }, 120_000);
});
