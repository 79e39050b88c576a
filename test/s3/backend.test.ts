// S3Backend against a real radosgw: objects, refs by conditional writes, the start-up probe,
// head races through ObjectStore, the audit log's appends, and the errors a user sees.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  ConditionalWritesUnsupportedError,
  S3Backend,
  S3BackendError,
  checkBucketAccess,
  checkConditionalWrites,
} from '../../src/store/s3-backend.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { EMPTY_TREE } from '../../src/store/tree-codec.js';
import type { HeadRecord } from '../../src/store/head-record.js';
import type { ObjectBackend } from '../../src/store/object-backend.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { useCluster } from './cluster.js';
import { s3, s3Options } from './helpers.js';

const cluster = useCluster();

function record(message: string, parent: string | null): HeadRecord {
  return { tree: EMPTY_TREE, nextIno: 2, parent, session: null, message, time: new Date(0).toISOString() };
}

describe('S3Backend objects', () => {
  it('puts, gets, heads, lists and deletes, under its prefix', async () => {
    const b = s3(cluster());
    const other = s3(cluster()); // another prefix on the same bucket
    expect(await b.get('a/missing')).toBeNull();
    expect(await b.has('a/missing')).toBe(false);
    const big = randomBytes(3 * 1024 * 1024 + 17);
    await b.put('a/one', Buffer.from('one'));
    await b.put('a/two', Buffer.alloc(0));
    await b.put('b/big', big);
    await other.put('a/one', Buffer.from('other'));
    expect((await b.get('a/one'))!.toString()).toBe('one');
    expect((await b.get('a/two'))!.length).toBe(0);
    expect((await b.get('b/big'))!.equals(big)).toBe(true);
    expect(await b.has('a/one')).toBe(true);
    await b.put('a/one', Buffer.from('uno')); // overwrite
    expect((await b.get('a/one'))!.toString()).toBe('uno');
    expect((await other.get('a/one'))!.toString()).toBe('other');

    const listed = [];
    for await (const o of b.list('')) listed.push(o);
    expect(listed.map((o) => o.key)).toEqual(['a/one', 'a/two', 'b/big']);
    expect(listed.map((o) => o.size)).toEqual([3, 0, big.length]);
    expect(listed.every((o) => o.mtimeMs > 1.6e12)).toBe(true);
    const underA = [];
    for await (const o of b.list('a/')) underA.push(o.key);
    expect(underA).toEqual(['a/one', 'a/two']);

    await b.delete('a/one');
    await b.delete('a/one'); // idempotent
    expect(await b.get('a/one')).toBeNull();
    expect(await b.has('a/one')).toBe(false);
    expect((await other.get('a/one'))!.toString()).toBe('other');
  });

  it('GET signs keys and prefixes that need percent-encoding, and reads what the SDK wrote', async () => {
    const env = cluster();
    const b = s3(env, { prefix: `odd prefix+(${randomBytes(3).toString('hex')})` });
    const keys = ['a b/c+d', "x*y/it's (1)", 'uni/ü€', 'q?r=s&t#u'];
    for (const [i, k] of keys.entries()) await b.put(k, Buffer.from(`v${i}`));
    for (const [i, k] of keys.entries()) expect((await b.get(k))!.toString()).toBe(`v${i}`);
    expect(await b.get('a b/missing')).toBeNull();
    for (const k of keys) await b.delete(k);
  });

  it('lists past one page (ListObjectsV2 pagination)', async () => {
    const b = s3(cluster());
    const keys = Array.from({ length: 1005 }, (_, i) => `p/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => b.put(k, Buffer.from(k))));
    }
    const seen: string[] = [];
    for await (const o of b.list('p/')) seen.push(o.key);
    expect(seen).toEqual(keys);
    // A cursor plus continuation tokens: still only the keys after it, every one of them once.
    const after: string[] = [];
    for await (const o of b.list('p/', { startAfter: keys[3] })) after.push(o.key);
    expect(after).toEqual(keys.slice(4));
  }, 120_000);

  it('list honours the startAfter cursor, relative to its prefix and byte-ordered', async () => {
    const b = s3(cluster());
    const other = s3(cluster()); // another prefix on the same bucket must not leak in or shift the cursor
    for (const k of ['c/a', 'c/b', 'c/b0', 'c/c', 'c/\u00fc', 'd/a']) await b.put(k, Buffer.from(k));
    await other.put('c/z', Buffer.from('other'));
    const list = async (prefix: string, startAfter?: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const o of b.list(prefix, startAfter === undefined ? {} : { startAfter })) out.push(o.key);
      return out;
    };
    expect(await list('c/', 'c/b')).toEqual(['c/b0', 'c/c', 'c/\u00fc']);
    expect(await list('c/', 'c/bb')).toEqual(['c/c', 'c/\u00fc']); // a cursor that names no key
    expect(await list('c/', 'c/c')).toEqual(['c/\u00fc']); // UTF-8 byte order: ü after c
    expect(await list('c/', 'c/\u00fc')).toEqual([]);
    expect(await list('', 'c/c')).toEqual(['c/\u00fc', 'd/a']);
    expect(await list('c/', '')).toEqual(['c/a', 'c/b', 'c/b0', 'c/c', 'c/\u00fc']);
  });

  it('rejects keys that escape the layout', async () => {
    const b = s3(cluster());
    await expect(b.put('../x', Buffer.from('x'))).rejects.toThrow(/invalid key/);
    await expect(b.get('/abs')).rejects.toThrow(/invalid key/);
  });
});

describe('S3Backend refs (conditional writes)', () => {
  it('creates once: a second If-None-Match create fails', async () => {
    const b = s3(cluster());
    expect(await b.getRef('ref')).toBeNull();
    expect(await b.casRef('ref', Buffer.from('first'), null)).toBe(true);
    expect(await b.casRef('ref', Buffer.from('second'), null)).toBe(false);
    const got = await b.getRef('ref');
    expect(got!.data.toString()).toBe('first');
    expect(got!.version).toMatch(/^[0-9a-f]{32}$/); // the bare MD5 ETag
  });

  it('replaces with If-Match on the current version and refuses a stale one', async () => {
    const b = s3(cluster());
    await b.casRef('ref', Buffer.from('v1'), null);
    const v1 = (await b.getRef('ref'))!.version;
    expect(await b.casRef('ref', Buffer.from('v2'), v1)).toBe(true);
    const v2 = (await b.getRef('ref'))!;
    expect(v2.data.toString()).toBe('v2');
    expect(v2.version).not.toBe(v1);
    expect(await b.casRef('ref', Buffer.from('v3 from a stale writer'), v1)).toBe(false);
    expect(await b.casRef('ref', Buffer.from('v3'), '0123456789abcdef0123456789abcdef')).toBe(false);
    expect((await b.getRef('ref'))!.data.toString()).toBe('v2');
    // If-Match against a ref that does not exist fails too
    expect(await b.casRef('nothing-here', Buffer.from('x'), v1)).toBe(false);
    expect(await b.getRef('nothing-here')).toBeNull();
  });

  it('eight racers creating one ref: exactly one wins', async () => {
    const env = cluster();
    const opts = s3Options(env);
    const racers = Array.from({ length: 8 }, () => s3(env, { prefix: opts.prefix }));
    const results = await Promise.all(racers.map((r, i) => r.casRef('ref', Buffer.from(`racer ${i}`), null)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect((await racers[0]!.getRef('ref'))!.data.toString()).toBe(`racer ${winner}`);
  });
});

describe('the audit log on S3', () => {
  /** An S3Backend that counts the reads of refs (casRefVersion's own read-back after a lost PUT is not one). */
  class RefReads extends S3Backend {
    refReads = 0;
    override getRef(key: string) {
      this.refReads++;
      return super.getRef(key);
    }
  }

  it('an append swaps on the version its last swap left, without reading the head; a stale one loses and reads', async () => {
    const env = cluster();
    const opts = s3Options(env);
    const ba = new RefReads(opts);
    const bb = new RefReads(opts);
    const a = new AuditLog(ba);
    const b = new AuditLog(bb);
    const entry = (actor: string, i: number) => ({ actor, action: 'session.land', target: `session:${actor}${i}`, result: 'ok' });
    // the swap's answer carries the new ETag: casRefVersion tells it, equal to what a read gives
    expect(await ba.casRefVersion('ref', Buffer.from('v1'), null)).toEqual({ won: true, version: (await ba.getRef('ref'))!.version });
    ba.refReads = 0;

    for (let i = 1; i <= 4; i++) await a.append(entry('alice', i));
    expect(ba.refReads).toBe(1); // the first append only

    await b.append(entry('bob', 1)); // another daemon moves the head
    expect(bb.refReads).toBe(1);
    const lostBefore = ba.casStats.lost;
    const e = await a.append(entry('alice', 5)); // its known version is stale: the swap loses, then it reads
    expect(e.seq).toBe(6);
    expect(ba.casStats.lost).toBe(lostBefore + 1);
    expect(ba.refReads).toBe(2);
    await a.append(entry('alice', 6));
    expect(ba.refReads).toBe(2);

    // both at once, many times: one chain, no entry lost or doubled
    await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => a.append(entry('alice', 10 + i))),
      ...Array.from({ length: 8 }, (_, i) => b.append(entry('bob', 10 + i))),
    ]);
    const v = await b.verify();
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.entries).toBe(23);
    const all = await a.query({ limit: 100 });
    expect(all.map((x) => x.seq)).toEqual(Array.from({ length: 23 }, (_, i) => 23 - i));
    expect(new Set(all.map((x) => x.target)).size).toBe(23);
  }, 120_000);
});

describe('heads through ObjectStore on S3', () => {
  it('eight concurrent casHead racers: exactly one wins each round', async () => {
    const env = cluster();
    const prefix = s3Options(env).prefix;
    const stores = Array.from({ length: 8 }, () => new ObjectStore(s3(env, { prefix }), 'acme/race'));
    expect(await stores[0]!.casHead(null, 0, record('root', null))).toBe(true);
    for (let round = 1; round <= 6; round++) {
      const heads = await Promise.all(stores.map((s) => s.getHead()));
      expect(new Set(heads.map((h) => h!.version)).size).toBe(1);
      const results = await Promise.all(
        stores.map((s, i) => s.casHead(heads[i]!.version, heads[i]!.ref.generation, record(`round ${round} racer ${i}`, heads[i]!.hash))),
      );
      expect(results.filter(Boolean), `round ${round}`).toHaveLength(1);
      const now = await stores[3]!.getHead();
      expect(now!.record.message).toBe(`round ${round} racer ${results.indexOf(true)}`);
      expect(now!.ref.generation).toBe(round + 1);
      expect(now!.record.parent).toBe(heads[0]!.hash);
    }
  }, 120_000);

  it('eight writers doing read-modify-CAS-retry on a counter lose no increment', async () => {
    const env = cluster();
    const prefix = s3Options(env).prefix;
    const backends = Array.from({ length: 8 }, () => s3(env, { prefix }));
    const stores = backends.map((b) => new ObjectStore(b, 'acme/counter'));
    expect(await stores[0]!.casHead(null, 0, record('0', null))).toBe(true);
    const PER_WRITER = 5;
    let losses = 0;
    await Promise.all(
      stores.map(async (s, w) => {
        for (let i = 0; i < PER_WRITER; i++) {
          for (;;) {
            const h = (await s.getHead())!;
            const n = Number(h.record.message);
            if (await s.casHead(h.version, h.ref.generation, { ...record(String(n + 1), h.hash), session: `w${w}-${i}` })) break;
            losses++;
            await new Promise((r) => setTimeout(r, Math.random() * 20));
          }
        }
      }),
    );
    const final = (await stores[0]!.getHead())!;
    expect(Number(final.record.message)).toBe(8 * PER_WRITER);
    expect(final.ref.generation).toBe(8 * PER_WRITER + 1);
    expect(losses).toBeGreaterThan(0); // there really was contention
    // Every success and every loss was reported once by the backends that saw it.
    const won = backends.reduce((n, b) => n + b.casStats.won + b.casStats.wonAfterReadBack, 0);
    const lost = backends.reduce((n, b) => n + b.casStats.lost, 0);
    expect(won).toBe(8 * PER_WRITER + 1);
    expect(lost).toBe(losses);
    console.log('conditional PUT failures by status:', JSON.stringify(backends.map((b) => b.casStats.byStatus)));
    // The history holds every writer's every increment exactly once.
    const sessions: string[] = [];
    for (let h: string | null = final.hash; h;) {
      const r = await stores[0]!.getHeadRecord(h);
      if (r.session) sessions.push(r.session);
      h = r.parent;
    }
    expect(sessions.sort()).toEqual(
      Array.from({ length: 8 }, (_, w) => Array.from({ length: PER_WRITER }, (_, i) => `w${w}-${i}`))
        .flat()
        .sort(),
    );
  }, 150_000);
});

describe('start-up checks', () => {
  it('the conditional-write probe passes on radosgw and leaves nothing behind', async () => {
    const b = s3(cluster());
    await checkBucketAccess(b);
    await checkConditionalWrites(b);
    const left = [];
    for await (const o of b.list('')) left.push(o.key);
    expect(left).toEqual([]);
  });

  it('the probe refuses an endpoint that ignores conditions', async () => {
    // The same real bucket, seen through a client that drops the conditions (as a non-compliant endpoint would).
    class IgnoresConditions extends S3Backend {
      override unverified(): ObjectBackend {
        const raw = super.unverified();
        return {
          ...raw,
          casRef: async (k, d) => {
            await raw.put(k, d);
            return true;
          },
        };
      }
    }
    const b = new IgnoresConditions(s3Options(cluster()));
    const err = await checkConditionalWrites(b).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(ConditionalWritesUnsupportedError);
    expect(err!.message).toMatch(/ignores If-None-Match.*refusing to keep a shared head there/);
    expect(err!.message).not.toContain('\n');
    await b.close();
  });

  it('verifyOnFirstUse gates every operation on the probe', async () => {
    const b = s3(cluster(), { verifyOnFirstUse: true });
    await b.ready();
    await b.put('x', Buffer.from('y'));
    expect((await b.get('x'))!.toString()).toBe('y');
  });

  it('bad credentials: a clear one-line error, on the probe and on every operation', async () => {
    const env = cluster();
    const wrongSecret = s3(env, {
      credentials: { accessKeyId: env.accessKeyId, secretAccessKey: 'not-the-secret' },
      verifyOnFirstUse: true,
    });
    const e1 = await wrongSecret.ready().then(
      () => null,
      (e: Error) => e,
    );
    expect(e1).toBeInstanceOf(S3BackendError);
    expect((e1 as S3BackendError).status).toBe(403);
    expect(e1!.message).toMatch(
      /^S3 rejected the credentials \(SignatureDoesNotMatch\) for s3:\/\/.* check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY$/,
    );
    await expect(wrongSecret.get('anything')).rejects.toThrow(/rejected the credentials/);

    const unknownKey = s3(env, { credentials: { accessKeyId: 'nobody', secretAccessKey: 'x' } });
    await expect(unknownKey.put('k', Buffer.from('v'))).rejects.toThrow(/^S3 rejected the credentials \(InvalidAccessKeyId\)/);
  });

  it('a failed start-up check is retried by the next operation (bucket created meanwhile)', async () => {
    const env = cluster();
    const bucket = `mic-late-${Date.now()}`;
    const b = s3(env, { bucket, verifyOnFirstUse: true });
    await expect(b.put('k', Buffer.from('v'))).rejects.toThrow(`S3 bucket "${bucket}" does not exist`);
    const { S3Client, CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    const admin = new S3Client({
      endpoint: env.endpoint,
      region: env.region,
      forcePathStyle: true,
      credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    });
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      await b.put('k', Buffer.from('v'));
      expect((await b.get('k'))!.toString()).toBe('v');
      await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: b.s3Key('k') }));
    } finally {
      await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
      admin.destroy();
    }
  });

  it('a missing bucket and an unreachable endpoint: clear errors', async () => {
    const env = cluster();
    const noBucket = s3(env, { bucket: 'no-such-bucket-here' });
    const e = await checkConditionalWrites(noBucket).then(
      () => null,
      (x: Error) => x,
    );
    expect(e!.message).toBe(
      `S3 bucket "no-such-bucket-here" does not exist at ${env.endpoint} (create it, or fix MIC_S3_BUCKET / --s3-bucket)`,
    );
    expect((e as S3BackendError).code).toBe('NoSuchBucket');
    await expect(noBucket.get('k')).rejects.toThrow(/does not exist/);

    const down = s3(env, { endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    await expect(down.get('k')).rejects.toThrow(/^cannot reach S3 \(ECONNREFUSED\) for GET .* is the endpoint up\?$/);
  });
});
