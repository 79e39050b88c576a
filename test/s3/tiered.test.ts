// The read tiers below RAM: DiskCache (local SSD) and TieredBackend over a real radosgw,
// ObjectStore on top of them, and backend selection from configuration.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { until } from '../lib/until.js';
import { DiskCache, isContentAddressedKey, verifyContentAddressed } from '../../src/store/disk-cache.js';
import { TieredBackend } from '../../src/store/tiered-backend.js';
import { checkBackend, openBackend, parseBytes, DEFAULT_CACHE_BYTES } from '../../src/store/open-backend.js';
import { S3Backend } from '../../src/store/s3-backend.js';
import { LocalBackend } from '../../src/store/local-backend.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { encodeStored, sha256Hex } from '../../src/store/codec.js';
import { CorruptObjectError } from '../../src/store/errors.js';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { useCluster } from './cluster.js';
import { freshPrefix, s3, tempDir } from './helpers.js';

const cluster = useCluster();

// Every cache and backend a test makes is closed after it: an open cache pack left to the garbage collector
// makes Node warn (DEP0137, "Closing file descriptor N on garbage collection") in the middle of CI's log.
const opened: { close(): unknown }[] = [];
function keep<T>(x: T): T {
  if (x && typeof (x as { close?: unknown }).close === 'function') opened.push(x as unknown as { close(): unknown });
  return x;
}
const openCache = async (...a: Parameters<typeof DiskCache.open>) => keep(await DiskCache.open(...a));
const newCache = (...a: ConstructorParameters<typeof DiskCache>) => keep(new DiskCache(...a));
const newTiered = (...a: ConstructorParameters<typeof TieredBackend>) => keep(new TieredBackend(...a));
/** Files of this test's temp dirs (micfs-s3-*) this process still has open, from /proc/self/fd. */
function openTempFiles(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(join(tmpdir(), 'micfs-s3-'))) out.push(target);
    } catch {
      /* closed meanwhile (the readdir's own descriptor) */
    }
  }
  return out;
}
afterEach(async () => {
  // backends first (they finish their cache writes, then close their cache), then caches made alone
  const all = opened.splice(0).reverse();
  for (const x of all) if (x instanceof TieredBackend) await x.close();
  for (const x of all) if (!(x instanceof TieredBackend)) await x.close();
  // closing lets go of every file: nothing is left for the garbage collector to close
  await until(() => openTempFiles().length === 0, 5000).catch(() => {});
  expect(openTempFiles()).toEqual([]);
});

/** A content-addressed blob key and its stored bytes. */
function blob(content: Buffer, project = 'acme/w'): { key: string; stored: Buffer; hash: string } {
  const hash = sha256Hex(content);
  return { key: `projects/${project}/blobs/${hash.slice(0, 2)}/${hash}`, stored: encodeStored(content), hash };
}

describe('DiskCache', () => {
  it('caches only content-addressed keys and verifies them', () => {
    const b = blob(Buffer.from('x'.repeat(500)));
    expect(isContentAddressedKey(b.key)).toBe(true);
    expect(isContentAddressedKey('projects/acme/w/head')).toBe(false);
    expect(isContentAddressedKey('projects/acme/w/sessions/s1/metadata.json')).toBe(false);
    expect(isContentAddressedKey(`projects/acme/w/blobs/00/${b.hash}`)).toBe(false); // fan-out dir must match
    expect(verifyContentAddressed(b.key, b.stored)).toBe(true);
    expect(verifyContentAddressed(b.key, encodeStored(Buffer.from('y')))).toBe(false);
    const headBytes = Buffer.from('{"tree":"…"}');
    const h = sha256Hex(headBytes);
    expect(verifyContentAddressed(`projects/acme/w/heads/${h.slice(0, 2)}/${h}`, headBytes)).toBe(true);
  });

  it('hits after a restart (a new instance on the same directory)', async () => {
    const dir = await tempDir();
    const a = await openCache(dir, { maxBytes: 1 << 20 });
    const items = [0, 1, 2].map((i) => blob(randomBytes(1000 + i)));
    for (const it of items) expect(await a.put(it.key, it.stored)).toBe(true);
    expect(await a.put('projects/acme/w/head', Buffer.from('mutable'))).toBe(false);
    const b = await openCache(dir, { maxBytes: 1 << 20 });
    expect(b.count).toBe(3);
    expect(b.bytes).toBe(a.bytes); // the pack's bytes: the records and their headers
    expect(b.bytes).toBeGreaterThan(items.reduce((n, it) => n + it.stored.length, 0));
    for (const it of items) expect((await b.get(it.key))!.equals(it.stored)).toBe(true);
    expect(b.stats.hits).toBe(3);
    expect(await b.get(blob(Buffer.from('absent')).key)).toBeNull();
    expect(b.stats.misses).toBe(1);
  });

  it('keeps within maxBytes by deleting the oldest packs, also across a restart', async () => {
    const dir = await tempDir();
    const items = Array.from({ length: 40 }, () => blob(randomBytes(1000)));
    const max = 16 * 1024; // packs of 2 KiB: a record each
    const c = await openCache(dir, { maxBytes: max });
    for (const it of items) {
      await c.put(it.key, it.stored);
      expect(c.bytes).toBeLessThanOrEqual(max);
    }
    expect(c.stats.evictions).toBeGreaterThan(20);
    // the newest are kept, the oldest gone (whole packs)
    expect(c.holds(items[39]!.key)).toBe(true);
    expect(c.holds(items[0]!.key)).toBe(false);
    const held = items.filter((it) => c.holds(it.key));
    expect(held.length).toBe(c.count);
    expect(held).toEqual(items.slice(items.length - held.length));
    for (const it of held) expect((await c.get(it.key))!.equals(it.stored)).toBe(true);
    // on disk, too: only the packs that hold them (and a pack's bytes are what the bound counts)
    const packs = await readdir(join(dir, 'packs'));
    const onDisk = (await Promise.all(packs.map((p) => stat(join(dir, 'packs', p))))).reduce((n, st) => n + st.size, 0);
    expect(onDisk).toBe(c.bytes);
    // a restart with a smaller bound deletes the oldest packs first
    const d = await openCache(dir, { maxBytes: 6 * 1024 });
    expect(d.bytes).toBeLessThanOrEqual(6 * 1024);
    expect(d.count).toBeGreaterThan(0);
    expect(d.keys()).toEqual(items.slice(items.length - d.count).map((it) => it.key));
  });

  it('an entry read since it was written gets a second chance when its pack is evicted; its cold neighbours go', async () => {
    const dir = await tempDir();
    const items = Array.from({ length: 70 }, () => blob(randomBytes(1000)));
    const c = await openCache(dir, { maxBytes: 64 * 1024 }); // packs of 8 KiB: seven records each
    for (const it of items.slice(0, 7)) await c.put(it.key, it.stored);
    const first = c.locate(items[0]!.key)!.file;
    expect(c.locate(items[6]!.key)!.file).toBe(first);
    expect((await c.get(items[0]!.key))!.equals(items[0]!.stored)).toBe(true); // hot
    for (const it of items.slice(7)) await c.put(it.key, it.stored);
    expect(c.stats.evictions).toBeGreaterThan(0);
    expect(c.holds(items[1]!.key)).toBe(false); // its pack is gone
    await expect(stat(first)).rejects.toThrow(/ENOENT/);
    expect(c.locate(items[0]!.key)!.file).not.toBe(first); // copied forward
    expect((await c.get(items[0]!.key))!.equals(items[0]!.stored)).toBe(true);
    expect(c.bytes).toBeLessThanOrEqual(64 * 1024 + 8 * 1024); // the copy may overshoot by what it moved
    const again = await openCache(dir, { maxBytes: 64 * 1024 });
    expect((await again.get(items[0]!.key))!.equals(items[0]!.stored)).toBe(true);
  });

  it('a torn tail (an append cut short by a SIGKILL) is ignored: the records before it hit, nothing after it is taken', async () => {
    const dir = await tempDir();
    const a = await openCache(dir, { maxBytes: 1 << 20 });
    const items = [0, 1, 2].map(() => blob(randomBytes(3000)));
    for (const it of items) await a.put(it.key, it.stored);
    const last = a.locate(items[2]!.key)!;
    expect(a.locate(items[0]!.key)!.file).toBe(last.file); // one pack
    // the last record's data cut in the middle
    await truncate(last.file, last.offset + 1000);
    const b = await openCache(dir, { maxBytes: 1 << 20 });
    expect(b.keys()).toEqual([items[0]!.key, items[1]!.key]);
    for (const it of items.slice(0, 2)) expect((await b.get(it.key))!.equals(it.stored)).toBe(true);
    // a header cut short, and garbage after a good record, end the scan too
    await truncate(last.file, last.offset - 5);
    expect((await openCache(dir, { maxBytes: 1 << 20 })).count).toBe(2);
    await truncate(last.file, a.locate(items[1]!.key)!.offset + items[1]!.stored.length);
    await appendFile(last.file, randomBytes(100));
    const c = await openCache(dir, { maxBytes: 1 << 20 });
    expect(c.count).toBe(2);
    // new records go to a new pack; the damaged one still serves what it holds
    await c.put(items[2]!.key, items[2]!.stored);
    expect(c.locate(items[2]!.key)!.file).not.toBe(last.file);
    const d = await openCache(dir, { maxBytes: 1 << 20 });
    for (const it of items) expect((await d.get(it.key))!.equals(it.stored)).toBe(true);
  });

  it('detects a corrupt entry, drops it for good (across a restart) and reports a miss; cleans leftovers at open', async () => {
    const dir = await tempDir();
    const c = await openCache(dir, { maxBytes: 1 << 20 });
    const it = blob(Buffer.from('hello world '.repeat(100)));
    await c.put(it.key, it.stored);
    const at = c.locate(it.key)!;
    const fd = await open(at.file, 'r+');
    await fd.write(Buffer.from([0xff ^ it.stored[it.stored.length - 1]!]), 0, 1, at.offset + at.size - 1);
    await fd.close();
    expect(await c.get(it.key)).toBeNull();
    expect(c.stats.corrupt).toBe(1);
    expect(c.holds(it.key)).toBe(false);
    expect((await openCache(dir, { maxBytes: 1 << 20 })).holds(it.key)).toBe(false); // a tombstone
    // stored again: a hit (the later record wins over the tombstone)
    await c.put(it.key, it.stored);
    expect((await (await openCache(dir, { maxBytes: 1 << 20 })).get(it.key))!.equals(it.stored)).toBe(true);
    // the older layout (a file per object), a stray file and a foreign file among the packs go at open
    await mkdir(join(dir, 'projects/acme/w/blobs/00'), { recursive: true });
    await writeFile(join(dir, 'projects/acme/w/blobs/00', '0'.repeat(64)), 'x');
    await writeFile(join(dir, 'stray'), 'x');
    await writeFile(join(dir, 'packs', 'foreign'), 'x');
    const again = await openCache(dir, { maxBytes: 1 << 20 });
    expect(again.count).toBe(1);
    expect(await readdir(dir)).toEqual(['packs']);
    expect((await readdir(join(dir, 'packs'))).every((n) => n.endsWith('.pack'))).toBe(true);
  });
});

/** Flips the last byte of key's cached copy in its pack. */
async function corruptCached(t: TieredBackend, key: string): Promise<void> {
  const at = t.cache.locate(key)!;
  const fd = await open(at.file, 'r+');
  const b = Buffer.alloc(1);
  await fd.read(b, 0, 1, at.offset + at.size - 1);
  b[0] ^= 0xff;
  await fd.write(b, 0, 1, at.offset + at.size - 1);
  await fd.close();
}

/** key's cached copy as it lies in its pack. */
async function cachedCopy(t: TieredBackend, key: string): Promise<Buffer> {
  const at = t.cache.locate(key)!;
  const fd = await open(at.file, 'r');
  const b = Buffer.alloc(at.size);
  await fd.read(b, 0, at.size, at.offset);
  await fd.close();
  return b;
}

describe('TieredBackend over radosgw', () => {
  it('get: disk cache, then S3 (filling the cache); a restart still hits the disk', async () => {
    const dir = await tempDir();
    const prefix = freshPrefix();
    const remote = s3(cluster(), { prefix });
    const t = newTiered(remote, newCache(dir, { maxBytes: 1 << 24 }));
    const it = blob(randomBytes(200_000));
    await remote.put(it.key, it.stored); // uploaded by someone else: not cached here
    remote.reset();
    expect((await t.get(it.key))!.equals(it.stored)).toBe(true);
    expect(remote.gets).toEqual([it.key]);
    await t.cacheSettled(); // the disk copy is written off the read's path
    expect((await t.get(it.key))!.equals(it.stored)).toBe(true);
    expect(remote.gets).toHaveLength(1);
    expect(t.stats.diskHits).toBe(1);

    const remote2 = s3(cluster(), { prefix });
    const t2 = newTiered(remote2, newCache(dir, { maxBytes: 1 << 24 })); // "restart"
    expect((await t2.get(it.key))!.equals(it.stored)).toBe(true);
    expect(remote2.gets).toEqual([]);
    // Existence is always the bucket's answer (the cache may hold what the bucket lost).
    await remote.delete(it.key);
    expect(await t2.has(it.key)).toBe(false);
    expect(remote2.heads).toEqual([it.key]);
  });

  it('concurrent gets of one missing object share a single S3 GET', async () => {
    const remote = s3(cluster());
    const t = newTiered(remote, newCache(await tempDir(), { maxBytes: 1 << 24 }));
    const it = blob(randomBytes(500_000));
    await remote.put(it.key, it.stored);
    remote.reset();
    const got = await Promise.all(Array.from({ length: 10 }, () => t.get(it.key)));
    expect(got.every((g) => g!.equals(it.stored))).toBe(true);
    expect(remote.gets).toEqual([it.key]);
    expect(t.stats.sharedGets).toBe(9);
  });

  it('a corrupted cache file is detected and fetched again from S3', async () => {
    const dir = await tempDir();
    const remote = s3(cluster());
    const t = newTiered(remote, newCache(dir, { maxBytes: 1 << 24 }));
    const it = blob(Buffer.from('some file content\n'.repeat(1000)));
    await t.put(it.key, it.stored); // write-through fills the cache
    expect(t.cache.holds(it.key)).toBe(true);
    await corruptCached(t, it.key);
    remote.reset();
    expect((await t.get(it.key))!.equals(it.stored)).toBe(true);
    expect(t.cache.stats.corrupt).toBe(1);
    expect(remote.gets).toEqual([it.key]);
    await t.cacheSettled();
    expect((await cachedCopy(t, it.key)).equals(it.stored)).toBe(true); // repaired
    expect((await t.get(it.key))!.equals(it.stored)).toBe(true);
    expect(remote.gets).toHaveLength(1);
  });

  it('ObjectStore hashes a disk-cached object once (its own check); a corrupt cache file is discarded and fetched again', async () => {
    const dir = await tempDir();
    const remote = s3(cluster());
    const t = newTiered(remote, newCache(dir, { maxBytes: 1 << 24 }));
    const content = Buffer.from('a file of the session\n'.repeat(2000));
    const writer = new ObjectStore(t, 'acme/w');
    const hash = await writer.putBlob(content);
    const key = `projects/acme/w/blobs/${hash.slice(0, 2)}/${hash}`;
    expect(t.cache.holds(key)).toBe(true);

    const reader = new ObjectStore(t, 'acme/w'); // empty RAM cache
    expect((await reader.getBlob(hash)).equals(content)).toBe(true);
    expect(t.cache.stats.hits).toBe(1);
    expect(t.cache.stats.corrupt).toBe(0);

    await corruptCached(t, key); // one flipped byte
    remote.reset();
    const again = new ObjectStore(t, 'acme/w');
    expect((await again.getBlob(hash)).equals(content)).toBe(true);
    expect(t.stats.discarded).toBe(1);
    expect(remote.gets).toEqual([key]); // fetched again from S3
    await t.cacheSettled();
    expect(verifyContentAddressed(key, await cachedCopy(t, key))).toBe(true); // repaired
  });

  it('mutable keys (refs, documents) always go to S3', async () => {
    const remote = s3(cluster());
    const t = newTiered(remote, newCache(await tempDir(), { maxBytes: 1 << 24 }));
    await t.put('projects/acme/w/sessions/s1/metadata.json', Buffer.from('{"a":1}'));
    await remote.put('projects/acme/w/sessions/s1/metadata.json', Buffer.from('{"a":2}'));
    expect((await t.get('projects/acme/w/sessions/s1/metadata.json'))!.toString()).toBe('{"a":2}');
    expect(t.cache.count).toBe(0);
    expect(await t.casRef('projects/acme/w/head', Buffer.from('r1'), null)).toBe(true);
    expect((await t.getRef('projects/acme/w/head'))!.data.toString()).toBe('r1');
    const keys: string[] = [];
    for await (const o of t.list('projects/')) keys.push(o.key);
    expect(keys).toEqual(['projects/acme/w/head', 'projects/acme/w/sessions/s1/metadata.json']);
  });
});

describe('ObjectStore over the tiered S3 backend', () => {
  it('never uploads a blob twice: not from the same store, not from another daemon', async () => {
    const prefix = freshPrefix();
    const r1 = s3(cluster(), { prefix });
    const store1 = new ObjectStore(newTiered(r1, newCache(await tempDir(), { maxBytes: 1 << 24 })), 'acme/dedup');
    const content = randomBytes(100_000);
    const h = await store1.putBlob(content);
    expect(r1.puts).toHaveLength(1);
    expect(await store1.putBlob(Buffer.from(content))).toBe(h);
    expect(r1.puts).toHaveLength(1);

    // A second daemon (own RAM and disk cache) storing the same content: one HEAD, no PUT.
    const r2 = s3(cluster(), { prefix });
    const store2 = new ObjectStore(newTiered(r2, newCache(await tempDir(), { maxBytes: 1 << 24 })), 'acme/dedup');
    expect(await store2.putBlob(Buffer.from(content))).toBe(h);
    expect(r2.puts).toEqual([]);
    expect(r2.heads).toHaveLength(1);
    expect((await store2.getBlob(h)).equals(content)).toBe(true);
  });

  it('with an outbox, small objects are put without asking the bucket first (no HEAD), large ones still are', async () => {
    const prefix = freshPrefix();
    const r = s3(cluster(), { prefix });
    const t = newTiered(r, newCache(await tempDir(), { maxBytes: 1 << 26 }), { outboxDir: await tempDir() });
    const store = new ObjectStore(t, 'acme/blind');
    const small = Buffer.from('a small file\n'.repeat(100));
    const large = randomBytes(200_000); // stored raw: above the blind-put bound
    const hs = await store.putBlob(small);
    const hl = await store.putBlob(large);
    expect(await t.drain(30_000)).toBe(true);
    const key = (h: string) => `projects/acme/blind/blobs/${h.slice(0, 2)}/${h}`;
    expect(r.heads).toEqual([key(hl)]);
    expect(r.puts.sort()).toEqual([key(hs), key(hl)].sort());

    // another daemon with the same content: the small one is sent again (harmless), the large one is not
    const r2 = s3(cluster(), { prefix });
    const t2 = newTiered(r2, newCache(await tempDir(), { maxBytes: 1 << 26 }), { outboxDir: await tempDir() });
    const store2 = new ObjectStore(t2, 'acme/blind');
    expect(await store2.putBlob(Buffer.from(small))).toBe(hs);
    expect(await store2.putBlob(Buffer.from(large))).toBe(hl);
    expect(await t2.drain(30_000)).toBe(true);
    expect(r2.puts).toEqual([key(hs)]);
    expect(r2.heads).toEqual([key(hl)]);
    const reader = new ObjectStore(s3(cluster(), { prefix }), 'acme/blind');
    expect((await reader.getBlob(hs)).equals(small)).toBe(true);
    expect((await reader.getBlob(hl)).equals(large)).toBe(true);
  });

  it('with an outbox, a head record goes straight to the bucket when nothing else is queued (the swap that names it would wait for its upload), other objects through the outbox', async () => {
    const prefix = freshPrefix();
    const r = s3(cluster(), { prefix });
    const outbox = await tempDir();
    const t = newTiered(r, newCache(await tempDir(), { maxBytes: 1 << 26 }), { outboxDir: outbox });
    const store = new ObjectStore(t, 'acme/now');
    const h = await store.putBlob(Buffer.from('a file\n'));
    const tree = await store.writeDir([{ name: 'a.txt', kind: 'file', mode: 0o644, ino: 2, size: 7, mtime: [1, 0], hash: h }]);
    const record = { tree, nextIno: 3, parent: null, session: null, message: 'init', time: 'now' };
    expect(await t.drain(30_000)).toBe(true); // as a landing does (drainUploads) before its head record
    expect(await store.casHead(null, 0, record)).toBe(true);
    const head = (await store.getHead())!;
    const key = `projects/acme/now/heads/${head.hash.slice(0, 2)}/${head.hash}`;
    expect(r.puts).toContain(key);
    // the blob and the tree node were queued and uploaded; the head record never was
    expect(t.uploadStats()!.uploaded).toBe(2);
    const queued: string[] = [];
    for await (const o of new LocalBackend(outbox).list('')) queued.push(o.key);
    expect(queued).toEqual([]);
    expect(t.cache.holds(key)).toBe(true); // and cached, as a put through the outbox is
    // a landing's later put of the same record asks nothing more
    r.reset();
    await store.putHeadRecord(head.record, true);
    expect(r.puts).toEqual([]);
    const reader = new ObjectStore(s3(cluster(), { prefix }), 'acme/now');
    expect((await reader.getHead())!.record.tree).toBe(tree);
  });

  it('a blob corrupted in S3 is detected, never served and never cached', async () => {
    const prefix = freshPrefix();
    const r1 = s3(cluster(), { prefix });
    const store1 = new ObjectStore(r1, 'acme/corrupt');
    const content = Buffer.from('the real content '.repeat(500));
    const h = await store1.putBlob(content);
    const key = `projects/acme/corrupt/blobs/${h.slice(0, 2)}/${h}`;
    await r1.put(key, encodeStored(Buffer.from('something else entirely '.repeat(500))));

    const cache = newCache(await tempDir(), { maxBytes: 1 << 24 });
    const r2 = s3(cluster(), { prefix });
    const tiered = newTiered(r2, cache);
    const store2 = new ObjectStore(tiered, 'acme/corrupt');
    await expect(store2.getBlob(h)).rejects.toBeInstanceOf(CorruptObjectError);
    expect(tiered.stats.remoteCorrupt).toBe(1);
    expect(cache.holds(key)).toBe(false);
    // Undecodable bytes too.
    await r1.put(key, Buffer.from([0x01, 0xde, 0xad]));
    await expect(new ObjectStore(tiered, 'acme/corrupt').getBlob(h)).rejects.toThrow(CorruptObjectError);
    // Repaired in S3: the next read fetches again and succeeds.
    await r1.put(key, encodeStored(content));
    expect((await new ObjectStore(tiered, 'acme/corrupt').getBlob(h)).equals(content)).toBe(true);
    await tiered.cacheSettled();
    expect(cache.holds(key)).toBe(true);
  });

  it('trees and heads round-trip through S3 and the disk cache', async () => {
    const prefix = freshPrefix();
    const dir = await tempDir();
    const store = new ObjectStore(newTiered(s3(cluster(), { prefix }), newCache(dir, { maxBytes: 1 << 24 })), 'acme/t');
    const h = await store.putBlob(Buffer.from('file body'));
    const tree = await store.writeDir([{ name: 'a.txt', kind: 'file', mode: 0o644, ino: 2, size: 9, mtime: [1, 0], hash: h }]);
    expect(await store.casHead(null, 0, { tree, nextIno: 3, parent: null, session: null, message: 'init', time: 'now' })).toBe(true);
    const r = s3(cluster(), { prefix });
    const fresh = new ObjectStore(newTiered(r, newCache(dir, { maxBytes: 1 << 24 })), 'acme/t');
    const head = (await fresh.getHead())!;
    expect(head.record.tree).toBe(tree);
    const entries = await fresh.listDir(head.record.tree);
    expect(entries.map((e) => e.name)).toEqual(['a.txt']);
    expect((await fresh.getBlob(entries[0]!.hash!)).toString()).toBe('file body');
    // head ref from S3; head record, tree node and blob from the disk cache
    expect(r.gets).toEqual([]);
  });
});

describe('backend selection', () => {
  it('parses byte counts', () => {
    expect(parseBytes('4294967296')).toBe(4294967296);
    expect(parseBytes('512M')).toBe(512 * 1024 ** 2);
    expect(parseBytes('10G')).toBe(10 * 1024 ** 3);
    expect(parseBytes('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes(0)).toBe(0);
    expect(() => parseBytes('lots')).toThrow(/not a byte count/);
  });

  it('defaults to the local backend in <data-dir>/objects', async () => {
    const dataDir = await tempDir();
    const b = openBackend(dataDir, { env: {} });
    expect(b).toBeInstanceOf(LocalBackend);
    expect((b as LocalBackend).root).toBe(join(dataDir, 'objects'));
    await checkBackend(b);
  });

  it('MIC_S3_BUCKET selects S3 behind <data-dir>/cache, with prefix, endpoint and cache size from the environment', async () => {
    const env = cluster();
    const dataDir = await tempDir();
    const prefix = freshPrefix();
    const vars = {
      MIC_S3_BUCKET: env.bucket,
      MIC_S3_PREFIX: prefix,
      AWS_ENDPOINT_URL: env.endpoint,
      MIC_CACHE_BYTES: '1M',
    };
    // the standard credential chain: environment variables
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: env.accessKeyId, AWS_SECRET_ACCESS_KEY: env.secretAccessKey });
    const b = keep(openBackend(dataDir, { env: vars }));
    expect(b).toBeInstanceOf(TieredBackend);
    const t = b as TieredBackend;
    expect(t.cache.dir).toBe(join(dataDir, 'cache'));
    expect(t.cache.maxBytes).toBe(1024 ** 2);
    const remote = t.remote as S3Backend;
    expect([remote.bucket, remote.prefix, remote.endpoint, remote.region]).toEqual([env.bucket, `${prefix}/`, env.endpoint, 'us-east-1']);
    await checkBackend(b); // bucket access + conditional writes

    // openCatalog uses it: a project's blobs land in the bucket under the prefix.
    const catalog = openCatalog(dataDir, { env: vars });
    keep(catalog.backend);
    const h = await catalog.store('acme/cfg').putBlob(Buffer.from('via the catalog'));
    expect(await (catalog.backend as TieredBackend).drain(30_000)).toBe(true); // uploaded in the background
    expect((catalog.backend as TieredBackend).uploads).not.toBeNull();
    const raw = s3(env, { prefix });
    expect(await raw.has(`projects/acme/cfg/blobs/${h.slice(0, 2)}/${h}`)).toBe(true);
    expect(keep(openBackend(dataDir, { env: { ...vars, MIC_CACHE_BYTES: '0' } }))).toBeInstanceOf(S3Backend);
    expect((keep(openBackend(dataDir, { env: { MIC_S3_BUCKET: 'b' } })) as TieredBackend).cache.maxBytes).toBe(DEFAULT_CACHE_BYTES);
  });

  it('bad credentials from the chain: the start-up check fails with one line', async () => {
    const env = cluster();
    const b = keep(
      openBackend(await tempDir(), {
        s3Bucket: env.bucket,
        s3Endpoint: env.endpoint,
        s3Prefix: freshPrefix(),
        env: {},
      }),
    ) as TieredBackend;
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_ACCESS_KEY_ID = env.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = 'wrong';
    try {
      const e = await checkBackend(b).then(
        () => null,
        (x: Error) => x,
      );
      expect(e).not.toBeNull();
      expect(e!.message).toMatch(/^S3 rejected the credentials \(SignatureDoesNotMatch\)/);
      expect(e!.message).not.toContain('\n');
      await expect(b.get('projects/acme/x/sessions/s/metadata.json')).rejects.toThrow(/rejected the credentials/);
    } finally {
      if (saved === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved;
    }
  });
});
