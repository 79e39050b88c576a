// Background uploads (UploadQueue behind TieredBackend) against a real radosgw that is stopped and
// started again: writes are acknowledged while it is down, mutable writes wait for the uploads before
// them, everything arrives once it is back, and a new process resumes what an old one left in the outbox.
// A landing never waits without bound for the store (`mic serve --land-wait`, env MIC_LAND_WAIT): with the
// gateway stopped, and with the upload queue stuck (the bucket refuses the session's blobs while everything
// else works), it fails within the wait with a clear domain error (HTTP 503, `store_unavailable` /
// `uploads_pending`; `mic session land` exits 75), and the session is unchanged: it lands later, every file.
// Rebase and handoff wait for the same store, within the same bound and with the same error.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskCache } from '../../src/store/disk-cache.js';
import { TieredBackend, type TieredOptions } from '../../src/store/tiered-backend.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { S3Backend, type S3BackendOptions } from '../../src/store/s3-backend.js';
import { encodeStored, sha256Hex } from '../../src/store/codec.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import pino from 'pino';
import { DeleteBucketPolicyCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { ApiError } from '../../src/api/client.js';
import { useCluster } from './cluster.js';
import { CountingS3, freshPrefix, s3Options, tempDir } from './helpers.js';
import { initS3Project, mount, readNfs, s3DaemonEnv, startS3Daemon, writeNfs } from './daemons.js';
import { until } from '../lib/until.js';

const cluster = useCluster();
const FAST: TieredOptions['upload'] = { baseDelayMs: 100, maxDelayMs: 800 };

/** CountingS3 that also records the most uploads it saw at once. */
class PeakS3 extends CountingS3 {
  now = 0;
  peak = 0;
  override async put(key: string, data: Buffer): Promise<void> {
    this.peak = Math.max(this.peak, ++this.now);
    try {
      return await super.put(key, data);
    } finally {
      this.now--;
    }
  }
}

async function tiered(opts: S3BackendOptions, outboxDir: string, cacheDir?: string) {
  const remote = new PeakS3(opts);
  const t = new TieredBackend(remote, new DiskCache(cacheDir ?? (await tempDir()), { maxBytes: 1 << 26 }), { outboxDir, upload: FAST });
  return { remote, t };
}

async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
  } catch {
    return [];
  }
}

/** Settles within ms? */
async function settles(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setTimeout(r, ms));
  return done;
}

function blobKey(project: string, content: Buffer): { key: string; stored: Buffer } {
  const h = sha256Hex(content);
  return { key: `projects/${project}/blobs/${h.slice(0, 2)}/${h}`, stored: encodeStored(content) };
}

describe('upload queue over a real radosgw', () => {
  it('acknowledges puts while radosgw is down; head and documents wait; all arrive once it is back', async () => {
    const env = cluster();
    const opts = s3Options(env);
    const outbox = await tempDir();
    const { remote, t } = await tiered(opts, outbox);
    const store = new ObjectStore(t, 'acme/q');
    const before = await store.putBlob(Buffer.from('uploaded before the outage'));
    expect(await t.drain(10_000)).toBe(true);

    const contents = Array.from({ length: 40 }, (_, i) => randomBytes(2000 + i * 100));
    await env.stopGateway();
    let head: Promise<boolean> | undefined;
    let doc: Promise<void> | undefined;
    try {
      const t0 = Date.now();
      const hashes = await Promise.all(contents.map((c) => store.putBlob(c)));
      const tree = await store.writeDir(
        hashes.map((hash, i) => ({
          name: `f${i}`,
          kind: 'file' as const,
          mode: 0o644,
          ino: 10 + i,
          size: contents[i]!.length,
          mtime: [1, 0] as [number, number],
          hash,
        })),
      );
      expect(Date.now() - t0).toBeLessThan(15_000); // acknowledged, not waiting for the gateway
      const queued = t.uploadStats()!.queued;
      expect(queued).toBeGreaterThanOrEqual(41); // 40 blobs and the tree
      expect(await filesUnder(outbox)).toHaveLength(queued); // each durably in the outbox
      // Readable back from this process (outbox + disk cache), without the remote.
      const fresh = new ObjectStore(t, 'acme/q');
      expect((await fresh.getBlob(hashes[7]!)).equals(contents[7]!)).toBe(true);
      expect((await fresh.listDir(tree)).map((e) => e.name).sort()).toEqual(contents.map((_, i) => `f${i}`).sort());
      expect(await t.has(blobKey('acme/q', contents[3]!).key)).toBe(true); // queued counts as present

      head = store.casHead(null, 0, {
        tree,
        nextIno: 100,
        parent: null,
        session: null,
        message: 'during outage',
        time: new Date().toISOString(),
      });
      doc = store.putJson('sessions/s1/tree.json', { tree });
      expect(await settles(Promise.race([head, doc]), 2500)).toBe(false); // both wait for the uploads
      const s = t.uploadStats()!;
      expect(s.queued).toBeGreaterThanOrEqual(41);
      expect(s.retries).toBeGreaterThan(0);
      expect(s.oldestPendingMs).toBeGreaterThan(1000);
      expect(s.uploaded).toBe(1); // only the one before the outage (attempts since all failed)
    } finally {
      await env.startGateway();
    }
    expect(await head).toBe(true);
    await doc;
    // When the head moved, everything it names was already in S3: check with a plain S3 reader.
    const plain = new ObjectStore(new S3Backend(opts), 'acme/q');
    const h = (await plain.getHead())!;
    expect(h.record.message).toBe('during outage');
    const entries = await plain.listDir(h.record.tree);
    expect(entries).toHaveLength(40);
    for (const e of entries) expect((await plain.getBlob(e.hash!)).equals(contents[Number(e.name.slice(1))]!)).toBe(true);
    expect((await plain.getBlob(before)).toString()).toBe('uploaded before the outage');
    const s = t.uploadStats()!;
    expect(s.queued).toBe(0);
    expect(s.oldestPendingMs).toBe(0);
    expect(s.uploaded).toBeGreaterThanOrEqual(43); // 1 + 40 blobs + tree + head record
    expect(remote.peak).toBeLessThanOrEqual(8);
    expect(await filesUnder(outbox)).toEqual([]);
    await t.close();
  }, 120_000);

  it('a new process resumes what the outbox holds; objects already in S3 are not sent again', async () => {
    const env = cluster();
    const opts = s3Options(env);
    const outbox = await tempDir();
    const cacheDir = await tempDir();
    const items = Array.from({ length: 12 }, () => blobKey('acme/r', randomBytes(3000)));
    const already = blobKey('acme/r', Buffer.from('already in S3'));
    await new S3Backend(opts).put(already.key, already.stored);

    await env.stopGateway();
    try {
      const a = await tiered(opts, outbox, cacheDir);
      for (const it of [...items, already]) await a.t.put(it.key, it.stored);
      expect(a.t.uploadStats()!.queued).toBe(13);
      await a.t.close(); // "crash": nothing uploaded, everything stays in the outbox
      expect(await filesUnder(outbox)).toHaveLength(13);
    } finally {
      await env.startGateway();
    }

    const b = await tiered(opts, outbox, cacheDir);
    expect(await b.t.resumeUploads()).toBe(13);
    expect(await b.t.has(items[0]!.key)).toBe(true);
    expect(await b.t.drain(30_000)).toBe(true);
    const s = b.t.uploadStats()!;
    // the first process sends without asking (it just found them absent); a PUT of its that went on inside
    // the SDK's retries while radosgw came back may have landed, and is then skipped here like `already`
    expect(s).toMatchObject({ queued: 0, lost: 0 });
    expect(s.uploaded + s.skipped).toBe(13);
    expect(s.skipped).toBeGreaterThanOrEqual(1);
    expect(b.remote.puts).not.toContain(already.key);
    const plain = new S3Backend(opts);
    for (const it of items) expect((await plain.get(it.key))!.equals(it.stored)).toBe(true);
    expect(await filesUnder(outbox)).toEqual([]);
    await b.t.close();
  }, 120_000);

  it('an object this process enqueued is sent without a HEAD first: one request per upload', async () => {
    const { remote, t } = await tiered(s3Options(cluster()), await tempDir());
    const items = Array.from({ length: 5 }, () => blobKey('acme/h', randomBytes(5000)));
    for (const it of items) await t.put(it.key, it.stored);
    expect(await t.drain(30_000)).toBe(true);
    expect(remote.heads).toEqual([]);
    expect([...remote.puts].sort()).toEqual(items.map((it) => it.key).sort());
    expect(t.uploadStats()).toMatchObject({ queued: 0, uploaded: 5, skipped: 0, lost: 0 });
    await t.close();
  });

  it('without an outbox, puts still go straight to S3', async () => {
    const opts = s3Options(cluster());
    const remote = new CountingS3(opts);
    const t = new TieredBackend(remote, new DiskCache(await tempDir(), { maxBytes: 1 << 20 }));
    const it = blobKey('acme/s', Buffer.from('sync'));
    await t.put(it.key, it.stored);
    expect(remote.puts).toEqual([it.key]);
    expect(t.uploadStats()).toBeNull();
  });

  it('the daemon resumes the outbox at start and leaves what it cannot upload at shutdown', async () => {
    const env = cluster();
    const opts = s3Options(env);
    const dataDir = await tempDir();
    const outbox = join(dataDir, 'outbox');
    Object.assign(process.env, {
      MIC_S3_BUCKET: env.bucket,
      MIC_S3_PREFIX: opts.prefix,
      AWS_ENDPOINT_URL: env.endpoint,
      AWS_REGION: env.region,
      AWS_ACCESS_KEY_ID: env.accessKeyId,
      AWS_SECRET_ACCESS_KEY: env.secretAccessKey,
    });
    const first = Array.from({ length: 5 }, () => blobKey('acme/d', randomBytes(2000)));
    const second = Array.from({ length: 3 }, () => blobKey('acme/d', randomBytes(2000)));
    const plain = new S3Backend(opts);
    const log = pino({ level: 'silent' });
    const daemonOpts = { dataDir, bind: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], log, uploadDrainMs: 1000 };
    const waitEmpty = async () => {
      for (let i = 0; i < 300 && (await filesUnder(outbox)).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
      return filesUnder(outbox);
    };

    await env.stopGateway();
    try {
      const a = await tiered(opts, outbox); // an earlier process that died with a full outbox
      for (const it of first) await a.t.put(it.key, it.stored);
      await a.t.close();
    } finally {
      await env.startGateway();
    }
    let d = await startDaemon(daemonOpts);
    expect(await waitEmpty()).toEqual([]);
    for (const it of first) expect((await plain.get(it.key))!.equals(it.stored)).toBe(true);

    const backend = d.service.o.catalog.backend as TieredBackend;
    await env.stopGateway();
    try {
      for (const it of second) await backend.put(it.key, it.stored); // acknowledged while down
      const t0 = Date.now();
      await d.close(); // drains for uploadDrainMs, then gives up
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(await filesUnder(outbox)).toHaveLength(3);
    } finally {
      await env.startGateway();
    }
    d = await startDaemon(daemonOpts);
    expect(await waitEmpty()).toEqual([]);
    for (const it of second) expect((await plain.get(it.key))!.equals(it.stored)).toBe(true);
    await d.close();
  }, 120_000);
});

describe.sequential('landing waits for the object store within --land-wait', () => {
  const P = 'acme/up';
  it('a stopped gateway, then a stuck upload queue: 503 and exit 75 within the wait; the session lands later', async () => {
    const c = cluster();
    const prefix = freshPrefix();
    const env = s3DaemonEnv(c, prefix, { MIC_LAND_WAIT: '2' });
    await initS3Project(env, await tempDir(), P, { 'README.md': 'hi\n' });
    const s = await startS3Daemon(env);
    const s3 = new S3Client({
      endpoint: c.endpoint,
      region: c.region,
      forcePathStyle: true,
      credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    });
    try {
      const files = (name: string, n: number) => ({
        files: Array.from({ length: n }, (_, i) => ({
          path: `${name}${i}.txt`,
          change_type: 'added' as const,
          content: `${name} ${i} ${prefix}\n`,
        })),
      });
      // 1. the gateway stopped
      const one = (await s.api.start({ project: P, goal: 'land while the gateway is down' })).session.session_id;
      await s.api.files(one, files('a', 3));
      await c.stopGateway();
      try {
        const e = await s.api.land(one, { message: 'too early' }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(ApiError);
        expect((e as ApiError).status).toBe(503);
        expect((e as ApiError).body).toMatchObject({ error: 'store_unavailable', message: expect.stringMatching(/land it again/) });
        const cli = await s.d.mic(['session', 'land', one, '-m', 'from the CLI']);
        expect(cli.code, cli.stderr + cli.stdout).toBe(75);
        expect(cli.stderr + cli.stdout).toMatch(/store_unavailable|object store/);
      } finally {
        await c.startGateway();
      }
      const landed = await s.api.land(one, { message: 'once it is back' });
      expect(landed.session.status).toBe('landed');
      expect((await s.api.changes(one, {})).changes.map((x: { path: string }) => x.path).sort()).toEqual(['a0.txt', 'a1.txt', 'a2.txt']);

      // 2. the gateway up, but the bucket refuses this session's blobs: the upload queue is stuck
      const two = (await s.api.start({ project: P, goal: 'land while the uploads are refused' })).session.session_id;
      const policy = {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Deny',
            Principal: { AWS: ['*'] },
            Action: 's3:PutObject',
            Resource: `arn:aws:s3:::${c.bucket}/${prefix}/projects/${P}/blobs/*`,
          },
        ],
      };
      await s3.send(new PutBucketPolicyCommand({ Bucket: c.bucket, Policy: JSON.stringify(policy) }));
      const m = await mount(s.d.port, (await s.api.get(two)).session.export!);
      try {
        for (let i = 0; i < 5; i++) await writeNfs(m, `b${i}.txt`, `b ${i} ${prefix}\n`.repeat(100));
        // a change through the API records the session: that write waits for the refused uploads, in vain
        const f = await s.api.files(two, files('c', 1)).catch((x: unknown) => x);
        expect(f).toBeInstanceOf(ApiError);
        expect((f as ApiError).status).toBe(503);
        expect((f as ApiError).body.error).toBe('uploads_pending');
        const e = await s.api.land(two, { message: 'stuck' }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(ApiError);
        expect((e as ApiError).status).toBe(503);
        expect((e as ApiError).body).toMatchObject({ error: 'uploads_pending', message: expect.stringMatching(/nothing is lost/) });
        expect((await s.api.get(two)).session.status).toBe('active');
      } finally {
        await s3.send(new DeleteBucketPolicyCommand({ Bucket: c.bucket }));
        await m.client.close();
      }
      // the queue takes them at its next try (its backoff may outlast one --land-wait): land until it does
      let later: Awaited<ReturnType<typeof s.api.land>> | null = null;
      await until(async () => {
        later = await s.api.land(two, { message: 'taken at last' }).catch((x: unknown) => {
          if (!(x instanceof ApiError) || x.body.error !== 'uploads_pending') throw x;
          return null;
        });
        return later !== null;
      }, 60_000);
      expect(later!.session.status).toBe('landed');
      const tree = await s.api.changes(two, { content: true });
      expect(tree.changes.map((x: { path: string }) => x.path).sort()).toEqual([
        'b0.txt',
        'b1.txt',
        'b2.txt',
        'b3.txt',
        'b4.txt',
        'c0.txt',
      ]);
    } finally {
      s3.destroy();
      await s.d.stop('SIGTERM', { cleanup: true });
    }
  }, 240_000);

  it('rebase and handoff with the gateway stopped: 503 (exit 75) within the wait; both succeed once it is back', async () => {
    const c = cluster();
    const prefix = freshPrefix();
    const env = s3DaemonEnv(c, prefix, { MIC_LAND_WAIT: '2' });
    const Q = 'acme/rh';
    await initS3Project(env, await tempDir(), Q, { 'README.md': 'hi\n' });
    const s = await startS3Daemon(env);
    const ms: Awaited<ReturnType<typeof mount>>[] = [];
    try {
      const one = (await s.api.start({ project: Q, goal: 'rebase while the gateway is down' })).session.session_id;
      const two = (await s.api.start({ project: Q, goal: 'hand off while the gateway is down' })).session.session_id;
      const other = (await s.api.start({ project: Q, goal: 'moves the head' })).session.session_id;
      await s.api.files(other, { files: [{ path: 'head.txt', change_type: 'added', content: `head ${prefix}\n` }] });
      await s.api.land(other, { message: 'the head moves' });
      for (const id of [one, two]) ms.push(await mount(s.d.port, (await s.api.get(id)).session.export!));
      await c.stopGateway();
      try {
        // acknowledged while the gateway is down (local state); their blobs can only be queued
        await writeNfs(ms[0]!, 'r.txt', `rebased ${prefix}\n`.repeat(50));
        await writeNfs(ms[1]!, 'h.txt', `handed ${prefix}\n`.repeat(50));
        for (const call of [() => s.api.rebase(one), () => s.api.handoff(two)]) {
          const e = await call().catch((x: unknown) => x);
          expect(e).toBeInstanceOf(ApiError);
          expect((e as ApiError).status, JSON.stringify((e as ApiError).body)).toBe(503);
          expect(['store_unavailable', 'uploads_pending']).toContain((e as ApiError).body.error);
          expect((e as ApiError).body.message).toMatch(/nothing is lost/);
        }
        const cli = await s.d.mic(['session', 'rebase', one]);
        expect(cli.code, cli.stderr + cli.stdout).toBe(75);
        // the session is still served here, unchanged: the mount reads back what was written
        expect(await readNfs(ms[1]!, 'h.txt')).toBe(`handed ${prefix}\n`.repeat(50));
      } finally {
        await c.startGateway();
      }
      for (const id of [one, two]) expect((await s.api.get(id)).session.status).toBe('active');
      // once it is back, both go through (the queue may still be in its backoff: retry while it says so)
      const again = async <T>(fn: () => Promise<T>): Promise<T> => {
        let out: T | null = null;
        await until(async () => {
          out = await fn().catch((x: unknown) => {
            if (!(x instanceof ApiError) || x.status !== 503) throw x;
            return null;
          });
          return out !== null;
        }, 60_000);
        return out!;
      };
      const rb = await again(() => s.api.rebase(one));
      expect(rb.rebased).toBe(true);
      const ho = await again(() => s.api.handoff(two));
      expect(ho.session.status).toBe('active');
      const landed = await s.api.land(one, { message: 'rebased, then landed' });
      expect(landed.session.status).toBe('landed');
      const paths = (await s.api.changes(one, {})).changes.map((x: { path: string }) => x.path);
      expect(paths).toEqual(['r.txt']);
    } finally {
      for (const m of ms) await m.client.close().catch(() => {});
      await s.d.stop('SIGTERM', { cleanup: true });
    }
  }, 180_000);
});

describe.sequential("a landing's round trips on S3", () => {
  it("reads the record, the head and the holder together; an ended session's live marker goes behind the answer", async () => {
    const c = cluster();
    const prefix = freshPrefix();
    const env = s3DaemonEnv(c, prefix);
    const dataDir = await tempDir();
    const P = 'acme/trips';
    await initS3Project(env, dataDir, P, { 'README.md': 'hi\n' });
    const saved = { ...process.env };
    Object.assign(process.env, env);
    // every GET of the record and read of a ref, in the order they begin and end (the real calls, recorded)
    const seen: string[] = [];
    const proto = S3Backend.prototype as unknown as Record<'get' | 'getRef', (key: string) => Promise<unknown>>;
    const orig = { get: proto.get, getRef: proto.getRef };
    for (const m of ['get', 'getRef'] as const) {
      proto[m] = async function (this: S3Backend, key: string) {
        const name = `${m} ${key.replace(/^.*\/(sessions\/[^/]+\/)?/, '')}`;
        seen.push(`begin ${name}`);
        try {
          return await orig[m].call(this, key);
        } finally {
          seen.push(`end ${name}`);
        }
      };
    }
    const d = await startDaemon({
      dataDir,
      bind: '127.0.0.1',
      port: 0,
      allow: ['127.0.0.0/8'],
      log: pino({ level: 'silent' }),
      apiPort: 0,
    });
    try {
      const { MicClient } = await import('../../src/api/client.js');
      const api = new MicClient({ baseUrl: `http://127.0.0.1:${d.apiPort}` });
      const id = (await api.start({ project: P, goal: 'round trips' })).session.session_id;
      const files = Array.from({ length: 10 }, (_, i) => ({ path: `f${i}.txt`, change_type: 'added' as const, content: `file ${i}\n` }));
      await api.files(id, { files });
      seen.length = 0;
      const landed = await api.land(id);
      expect(landed.session.status).toBe('landed');
      // the head and the holder were asked before the record's GET came back (before: one after the other)
      const at = (e: string) => seen.indexOf(e);
      expect(at('end get metadata.json')).toBeGreaterThan(0);
      expect(at('begin getRef head')).toBeGreaterThanOrEqual(0);
      expect(at('begin getRef holder')).toBeGreaterThanOrEqual(0);
      expect(at('begin getRef head')).toBeLessThan(at('end get metadata.json'));
      expect(at('begin getRef holder')).toBeLessThan(at('end get metadata.json'));
      expect(seen.filter((e) => e === 'begin getRef head')).toHaveLength(1); // read once, not again
      // the marker is removed behind the answer: gone once the catalog says its removals are done
      const catalog = d.service.o.catalog;
      await catalog.unmarked();
      const live: string[] = [];
      for await (const o of catalog.backend.list('index/live/')) live.push(o.key);
      expect(live.filter((k) => k.endsWith(id))).toEqual([]);
      expect((await api.list({ status: 'active' })).sessions.map((s) => s.session_id)).not.toContain(id);
      expect((await api.list({ status: 'landed' })).sessions.map((s) => s.session_id)).toContain(id);
    } finally {
      Object.assign(proto, orig);
      await d.close();
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }, 120_000);
});
