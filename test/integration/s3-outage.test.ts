// radosgw stopped for 30 s in the middle of a kernel-client workload, then started again (the daemon runs
// on S3 with its upload outbox): cached reads keep working, uncached reads fail cleanly or wait, no
// acknowledged write is lost, uploads resume, and a later land is correct, as read back from S3 alone.
// Session B is created and landed through the API as radosgw goes away: its landing waits for the uploads.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClientOf, runMic, startDaemon, writeTree, type Daemon, type SessionInfo } from '../lib/daemon.js';
import {
  describeResult,
  guestScript,
  runGuest,
  startHostHook,
  stepOutput,
  stepStatus,
  type GuestResult,
  type HostHook,
} from '../lib/kernel.js';
import { useCluster } from '../s3/cluster.js';
import { type SessionBody } from '../../src/api/client.js';
import { S3Backend } from '../../src/store/s3-backend.js';
import { ObjectStore } from '../../src/store/object-store.js';

const cluster = useCluster();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const PROJECT = 'acme/outage';
const OUTAGE_S = 30;
const B_FILES = 800;

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

/** path -> sha256 of every file under tree `hash`, read from the store. */
async function treeFiles(store: ObjectStore, hash: string, prefix = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(
    (await store.listDir(hash)).map(async (e) => {
      const p = prefix + e.name;
      if (e.kind === 'dir') for (const [k, v] of await treeFiles(store, e.hash!, `${p}/`)) out.set(k, v);
      else if (e.kind === 'file') out.set(p, sha(await store.getBlob(e.hash!)));
    }),
  );
  return out;
}

describe.sequential('kernel NFSv3 client on S3: radosgw outage under a live workload', () => {
  let d: Daemon;
  let s: SessionInfo;
  let r: GuestResult;
  let hook: HostHook;
  let out: string;
  let initDir: string;
  let env: Record<string, string>;
  let prefix: string;
  const files = { a: randomBytes(100_000), b: randomBytes(1_000_000), u: randomBytes(300_000) };
  const times: Record<string, number> = {};
  const bFiles = Array.from({ length: B_FILES }, (_, i) => ({ path: `b/${i % 10}/f${i}.txt`, content: randomBytes(4096).toString('hex') }));
  let landB: Promise<SessionBody>;
  let landBSettled: Promise<unknown>;
  let landBDone = 0;
  let queuedAtStop = 0;

  beforeAll(async () => {
    const c = cluster();
    prefix = `outage-${randomBytes(4).toString('hex')}`;
    env = {
      MIC_S3_BUCKET: c.bucket,
      MIC_S3_PREFIX: prefix,
      AWS_ENDPOINT_URL: c.endpoint,
      AWS_REGION: c.region,
      AWS_ACCESS_KEY_ID: c.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      MIC_API_PORT: '0',
      MIC_SEAL_DELAY: '2',
      // The daemon serves a session only on a lease it could renew in S3 (lease.ts: trusted for 3/4 of it);
      // past that, every NFS call answers JUKEBOX until S3 is back. With the 60 s default an outage of
      // 30 s plus a loaded machine's slack outlived the lease in some runs: the guest then waited on JUKEBOX
      // for the radosgw restart it was meant to ask for itself, until its 200 s timeout. This test is about
      // an outage within the lease, so the lease outlasts the whole guest run.
      MIC_LEASE_MS: '300000',
    };
    // Imported from another data directory, so the daemon's caches start empty.
    initDir = mkdtempSync(join(tmpdir(), 'mic-outage-init-'));
    const src = writeTree({ 'README.md': 'outage test', 'cached/a.bin': files.a, 'cached/b.bin': files.b, 'uncached/u.bin': files.u });
    const init = await runMic(['project', 'init', PROJECT, '--from', src, '--data-dir', initDir], { env });
    rmSync(src, { recursive: true, force: true });
    if (init.code !== 0) throw new Error(`project init: ${init.stderr}${init.stdout}`);
    d = await startDaemon({ env });
    const started = await runMic(['session', 'start', '--project', PROJECT, '--goal', 'outage', '--json', '--data-dir', d.dataDir], {
      env,
    });
    if (started.code !== 0) throw new Error(`session start: ${started.stderr}${started.stdout}`);
    s = (JSON.parse(started.stdout) as { session: SessionInfo }).session;
    out = mkdtempSync(join(tmpdir(), 'mic-outage-out-'));
    const client = apiClientOf(d.dataDir);
    hook = startHostHook({
      'gw-stop': async () => {
        landB = client.create({
          project: PROJECT,
          goal: 'B',
          message: 'B across the outage',
          files: bFiles.map((f) => ({ ...f, change_type: 'added' as const })),
        });
        let outcome = '';
        const t0 = Date.now();
        landBSettled = landB
          .then(
            () => {
              outcome = 'landed';
            },
            (e: Error) => {
              outcome = e.message;
            },
          )
          .finally(() => {
            landBDone = Date.now();
          });
        // stop radosgw once B's landing has queued uploads: B's own blobs in the outbox (other writers queue
        // uploads too: session s's background seals, index and blame objects; any 3 files could be theirs,
        // with B not even started, so that B's start rather than its landing met the outage)
        const bBlobs = bFiles.map((f) => {
          const h = sha(Buffer.from(f.content));
          return join(d.dataDir, 'outbox', 'projects', PROJECT, 'blobs', h.slice(0, 2), h);
        });
        let most = 0;
        while (!outcome && (queuedAtStop = bBlobs.filter((p) => existsSync(p)).length) < 3) {
          most = Math.max(most, queuedAtStop);
          await new Promise((res) => setTimeout(res, 5));
        }
        if (outcome)
          throw new Error(
            `session B finished (${outcome}) after ${Date.now() - t0} ms, before its uploads could be interrupted (outbox held at most ${most})`,
          );
        await c.stopGateway();
        times.stopped = Date.now();
      },
      'gw-start': async () => {
        await c.startGateway();
        times.started = Date.now();
      },
    });
    r = await runGuest(guestScript('s3-outage'), {
      port: d.port,
      export: s.export,
      timeout: 200,
      rw: [hook.dir, out],
      env: { ...hook.env, OUT: out, OUTAGE_S: String(OUTAGE_S), SHA_A: sha(files.a), SHA_B: sha(files.b), SHA_U: sha(files.u) },
    });
  }, 300_000);

  afterAll(async () => {
    hook?.stop();
    // If the test failed half-way, leave radosgw running for the cluster's own shutdown.
    await cluster()
      .startGateway()
      .catch(() => {});
    await d?.stop();
    for (const dir of [out, initDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the guest workload ran through the outage (cached reads and writes kept working)', () => {
    expect(r.code, describeResult(r)).toBe(0);
    for (const name of ['before', 'outage', 'after']) {
      expect(stepStatus(r.stdout, name), stepOutput(r.stdout, name) || describeResult(r)).toBe('ok');
    }
    expect(hook.errors.map((e) => e.message)).toEqual([]);
    expect(hook.served).toEqual(['gw-stop', 'gw-start']);
    expect(times.started! - times.stopped!).toBeGreaterThanOrEqual(OUTAGE_S * 1000);
  });

  it('the uncached read during the outage failed cleanly or returned the right bytes', () => {
    const during = readFileSync(join(out, 'uncached-during'), 'utf8').trim();
    if (during.startsWith('ok ')) expect(during).toBe(`ok ${sha(files.u)}`);
    else expect(during).toMatch(/^err \d+ /);
  });

  it('a land started as radosgw went away waited for its uploads and completed after the restart', async () => {
    const b = await landB;
    await landBSettled;
    expect(b.session.status).toBe('landed');
    expect(queuedAtStop).toBeGreaterThanOrEqual(3);
    expect(landBDone).toBeGreaterThan(times.started!);
  });

  it('uploads failed while radosgw was down and were retried, none lost', () => {
    const warns = d.logLines((l) => l.msg === 'upload failed, will retry');
    const problems = d
      .logLines((l) => Number(l.level) >= 40)
      .map((l) => JSON.stringify(l))
      .join('\n');
    expect(warns.length, problems).toBeGreaterThan(0);
    expect(typeof warns[0]!.key).toBe('string');
    const dropped = d.logLines((l) => typeof l.msg === 'string' && /no valid local copy/.test(l.msg));
    expect(dropped, JSON.stringify(dropped)).toEqual([]);
  });

  it('landing afterwards gives a head with exactly the acknowledged content, read from S3 alone', async () => {
    const t0 = Date.now();
    const landed = await d.mic(['session', 'land', s.session_id, '--message', 'after the outage', '--json'], { timeoutMs: 120_000 });
    expect(landed.code, landed.stderr + landed.stdout).toBe(0);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(filesUnder(join(d.dataDir, 'outbox'))).toEqual([]); // the head moved only after every upload
    const c = cluster();
    const plain = new S3Backend({
      bucket: c.bucket,
      prefix,
      endpoint: c.endpoint,
      region: c.region,
      credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    });
    try {
      const store = new ObjectStore(plain, PROJECT);
      const head = (await store.getHead())!;
      expect(head.record.message).toBe('after the outage');
      const got = await treeFiles(store, head.record.tree);
      const want = new Map<string, string>([
        ...bFiles.map((f) => [f.path, sha(Buffer.from(f.content))] as [string, string]),
        ['README.md', sha(Buffer.from('outage test'))],
        ['cached/a.bin', sha(files.a)],
        ['cached/b.bin', sha(files.b)],
        ['uncached/u.bin', sha(files.u)],
      ]);
      const manifest = readFileSync(join(out, 'manifest'), 'utf8').trim().split('\n');
      expect(manifest.length).toBeGreaterThan(20); // the workload wrote during the outage
      for (const line of manifest) {
        const [h, p] = line.split(/\s+/);
        want.set(p!, h!);
      }
      expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...want].sort()));
    } finally {
      await plain.close();
    }
  }, 180_000);
});
