// Large base files in a session: ranged reads, JUKEBOX while the store is slow, copy-up of a chunked blob.
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { LocalBackend, ObjectStore, type ObjectBackend } from '../../src/store/index.js';
import { readContent } from '../../src/core/snapshot.js';
import { SessionFs } from '../../src/fs/session-fs.js';
import { HandleCodec } from '../../src/fs/handles.js';
import { FsError, NfsStatus, StableHow, type Cred } from '../../src/fs/file-system.js';
import { importTree } from '../../src/session/project.js';
import { seeded } from '../store/seeded.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };
const log = pino({ level: 'silent' });
const MiB = 1024 * 1024;
const PROJECT = 'test/large';

/** A real LocalBackend whose gets wait while the gate is shut (a store that has become slow). */
class GatedBackend implements ObjectBackend {
  gets: string[] = [];
  private gate: Promise<void> | null = null;
  private release = () => {};
  constructor(private readonly inner: LocalBackend) {}
  shut(): void {
    this.gate = new Promise((r) => {
      this.release = r;
    });
  }
  open(): void {
    this.gate = null;
    this.release();
  }
  async get(key: string): Promise<Buffer | null> {
    this.gets.push(key);
    if (this.gate) await this.gate;
    return this.inner.get(key);
  }
  put(key: string, data: Buffer) {
    return this.inner.put(key, data);
  }
  readonly cacheTier = null;
  has(key: string) {
    return this.inner.has(key);
  }
  stat(key: string) {
    return this.inner.stat(key);
  }
  touch(key: string) {
    return this.inner.touch(key);
  }
  isTransient() {
    return false;
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  getRef(key: string) {
    return this.inner.getRef(key);
  }
  casRef(key: string, data: Buffer, expect: string | null) {
    return this.inner.casRef(key, data, expect);
  }
}

const tmps: string[] = [];
afterEach(() => {
  for (const d of tmps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(readWaitMs: number) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'micfs-large-'));
  tmps.push(tmp);
  const src = path.join(tmp, 'src');
  fs.mkdirSync(src);
  const big = seeded(10 * MiB, 5);
  fs.writeFileSync(path.join(src, 'big.bin'), big);
  fs.writeFileSync(path.join(src, 'small.txt'), 'small\n');
  const objects = path.join(tmp, 'objects');
  const base = await importTree(new ObjectStore(new LocalBackend(objects, { fsync: false }), PROJECT), src);
  const backend = new GatedBackend(new LocalBackend(objects, { fsync: false }));
  const store = new ObjectStore(backend, PROJECT); // cold RAM cache
  const sfs = await SessionFs.open({
    fsid: 77n,
    dir: path.join(tmp, 'session'),
    source: store,
    handles: new HandleCodec(Buffer.alloc(32, 3)),
    base: { ...base, time: { sec: 1, nsec: 0 } },
    owner: { uid: 0, gid: 0 },
    writeVerifier: Buffer.alloc(8),
    log,
    readWaitMs,
  });
  const look = async (name: string) => (await sfs.lookup(sfs.rootHandle(), name, root)).node;
  return { big, backend, store, sfs, look };
}

/** The status of a call that may answer at once or through a promise (READ and WRITE can do either). */
async function status(p: unknown): Promise<NfsStatus> {
  try {
    await p;
    return NfsStatus.OK;
  } catch (e) {
    if (e instanceof FsError) return e.status;
    throw e;
  }
}

describe('large base files', () => {
  it('a READ of an uncached block answers JUKEBOX while the store is slow; the retry gets the data', async () => {
    const { big, backend, store, sfs, look } = await setup(150);
    const file = await look('big.bin');
    const small = await look('small.txt');
    const h = (await store.blobChunks(sfs.state.get(file.attrs.fileid)!.blob!))!;
    expect(h.length).toBeGreaterThan(2);
    backend.shut();
    backend.gets = [];
    const off = 5 * MiB + 17,
      count = 128 * 1024;
    const t0 = Date.now();
    expect(await status(sfs.read(file.fh, off, count, root))).toBe(NfsStatus.JUKEBOX);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(1500);
    // the session's other calls go on meanwhile
    expect((await sfs.getattr(file.fh)).size).toBe(big.length);
    expect((await look('small.txt')).fh.equals(small.fh)).toBe(true);
    // a retry while the fetch is still out joins it rather than starting another
    expect(await status(sfs.read(file.fh, off, count, root))).toBe(NfsStatus.JUKEBOX);
    const fetched = [...backend.gets];
    expect(fetched.length).toBeGreaterThanOrEqual(1);
    expect(new Set(fetched).size).toBe(fetched.length);
    backend.open();
    // the background fetch completes and fills the cache: the retry is served from RAM at once
    await expect.poll(async () => status(sfs.read(file.fh, off, count, root)), { timeout: 5000 }).toBe(NfsStatus.OK);
    const before = backend.gets.length;
    const res = await sfs.read(file.fh, off, count, root);
    expect(res.data.equals(big.subarray(off, off + count))).toBe(true);
    expect(res.eof).toBe(false);
    expect(backend.gets.length).toBe(before);
    // a read at the end reports eof
    const tail = await sfs.read(file.fh, big.length - 10, 4096, root);
    expect(tail.data.equals(big.subarray(big.length - 10))).toBe(true);
    expect(tail.eof).toBe(true);
  });

  it('a READ touches only the chunks it needs, and a fast store never answers JUKEBOX', async () => {
    const { big, backend, sfs, look } = await setup(5000);
    const file = await look('big.bin');
    backend.gets = [];
    const res = await sfs.read(file.fh, 8 * MiB, 4096, root);
    expect(res.data.equals(big.subarray(8 * MiB, 8 * MiB + 4096))).toBe(true);
    expect(backend.gets.length).toBe(2); // manifest + one chunk (no read-ahead on a first read)
  });

  it('copy-up of a chunked base file, then reads and readAll see the edit', async () => {
    const { big, sfs, look } = await setup(5000);
    const file = await look('big.bin');
    const n = sfs.state.get(file.attrs.fileid)!;
    expect((await readContent(sfs.state, n)).equals(big)).toBe(true); // unchanged chunked blob, assembled
    const at = 7 * MiB + 3;
    await sfs.write(file.fh, at, Buffer.from('EDIT'), StableHow.FILE_SYNC, root);
    expect(n.local).toBe(true);
    const expected = Buffer.from(big);
    expected.write('EDIT', at);
    expect((await readContent(sfs.state, n)).equals(expected)).toBe(true);
    const r = await sfs.read(file.fh, at - 2, 8, root);
    expect(r.data.equals(expected.subarray(at - 2, at + 6))).toBe(true);
    r.release?.();
    expect((await sfs.getattr(file.fh)).size).toBe(big.length);
  });
});
