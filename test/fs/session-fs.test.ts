import { describe, it, expect, beforeEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { LocalBackend, ObjectStore } from '../../src/store/index.js';
import { SessionFs } from '../../src/fs/session-fs.js';
import { HandleCodec } from '../../src/fs/handles.js';
import { FileType, FsError, NfsStatus, StableHow, type Cred } from '../../src/fs/file-system.js';
import { importTree } from '../../src/session/project.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };
const log = pino({ level: 'silent' });

let tmp: string;
let store: ObjectStore;
let base: { tree: string; nextIno: number };
const handles = new HandleCodec(Buffer.alloc(32, 7));

async function open(name: string, fsid: bigint): Promise<SessionFs> {
  return SessionFs.open({
    fsid,
    dir: path.join(tmp, 'sessions', name),
    source: store,
    handles,
    base: { ...base, time: { sec: 1, nsec: 0 } },
    owner: { uid: 0, gid: 0 },
    writeVerifier: Buffer.alloc(8, 1),
    log,
  });
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

beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'micfs-'));
  const src = path.join(tmp, 'src');
  fs.mkdirSync(path.join(src, 'dir/sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(src, 'dir/b.txt'), 'beta\n');
  store = new ObjectStore(new LocalBackend(path.join(tmp, 'objects'), { fsync: false }), 'test/proj');
  base = await importTree(store, src);
});

async function lookup(sfs: SessionFs, p: string) {
  let fh = sfs.rootHandle();
  let attrs = await sfs.getattr(fh);
  for (const name of p.split('/').filter(Boolean)) ({ fh, attrs } = (await sfs.lookup(fh, name, root)).node);
  return { fh, attrs };
}

async function readText(sfs: SessionFs, p: string): Promise<string> {
  const { fh } = await lookup(sfs, p);
  return (await sfs.read(fh, 0, 1 << 20, root)).data.toString();
}

async function names(sfs: SessionFs, p: string): Promise<string[]> {
  const { fh } = await lookup(sfs, p);
  const l = await sfs.readdir(fh, 0n, Buffer.alloc(8), root);
  return [...{ [Symbol.iterator]: () => l.entries }].map((e) => e.name);
}

describe('SessionFs', () => {
  it('reads the base tree and keeps two sessions isolated', async () => {
    const a = await open('a', 11n);
    const b = await open('b', 12n);
    expect(await readText(a, 'dir/b.txt')).toBe('beta\n');
    const { fh } = await lookup(a, 'a.txt');
    await a.write(fh, 0, Buffer.from('ALPHA'), StableHow.FILE_SYNC, root);
    await a.create(a.rootHandle(), 'new.txt', { kind: 'guarded', attrs: {} }, root);
    expect(await readText(a, 'a.txt')).toBe('ALPHA\n');
    expect(await readText(b, 'a.txt')).toBe('alpha\n');
    expect(await names(b, '')).not.toContain('new.txt');
    expect(await names(a, '')).toContain('new.txt');
    // the base blobs are untouched: a third session sees the head as it was
    const c = await open('c', 13n);
    expect(await readText(c, 'a.txt')).toBe('alpha\n');
  });

  it('keeps committed data and handles across a crash (no clean close)', async () => {
    const a = await open('a', 21n);
    const created = await a.create(a.rootHandle(), 'f', { kind: 'unchecked', attrs: { mode: 0o640 } }, root);
    await a.write(created.fh, 0, Buffer.from('durable'), StableHow.UNSTABLE, root);
    await a.commit(created.fh);
    const { fh: dirFh } = await lookup(a, 'dir');
    await a.rename(dirFh, 'b.txt', a.rootHandle(), 'moved.txt', root);
    const movedId = (await lookup(a, 'moved.txt')).attrs.fileid;
    // simulate kill -9: open the same directory again without closing the first instance
    const again = await open('a', 21n);
    expect(await readText(again, 'f')).toBe('durable');
    expect((await again.getattr(created.fh)).mode).toBe(0o640);
    expect((await lookup(again, 'moved.txt')).attrs.fileid).toBe(movedId);
    expect(await names(again, 'dir')).toEqual(['.', '..', 'sub']);
  });

  it('finds unchanged objects again after a restart by their handle', async () => {
    const a = await open('a', 31n);
    const { fh } = await lookup(a, 'dir/sub');
    a.close();
    const again = await open('a', 31n);
    expect((await again.getattr(fh)).type).toBe(FileType.DIR);
  });

  it('rejects handles of other sessions and forged handles', async () => {
    const a = await open('a', 41n);
    const b = await open('b', 42n);
    const { fh } = await lookup(a, 'a.txt');
    expect(await status(b.getattr(fh))).toBe(NfsStatus.STALE);
    const forged = Buffer.from(fh);
    forged[12] ^= 1;
    expect(await status(a.getattr(forged))).toBe(NfsStatus.BADHANDLE);
    expect(await status(a.getattr(Buffer.alloc(5)))).toBe(NfsStatus.BADHANDLE);
  });

  it('gives STALE for a removed file', async () => {
    const a = await open('a', 51n);
    const { fh } = await lookup(a, 'a.txt');
    await a.remove(a.rootHandle(), 'a.txt', root);
    expect(await status(a.getattr(fh))).toBe(NfsStatus.STALE);
  });

  it('keeps the exclusive create verifier (RFC 1813 3.3.8)', async () => {
    const a = await open('a', 61n);
    const verf = Buffer.from('12345678');
    const first = await a.create(a.rootHandle(), 'x', { kind: 'exclusive', verf }, root);
    const again = await a.create(a.rootHandle(), 'x', { kind: 'exclusive', verf }, root);
    expect(again.attrs.fileid).toBe(first.attrs.fileid);
    expect(await status(a.create(a.rootHandle(), 'x', { kind: 'exclusive', verf: Buffer.from('87654321') }, root))).toBe(NfsStatus.EXIST);
    expect(await status(a.create(a.rootHandle(), 'x', { kind: 'guarded', attrs: {} }, root))).toBe(NfsStatus.EXIST);
  });

  it('counts hard links and directory links', async () => {
    const a = await open('a', 71n);
    const { fh } = await lookup(a, 'a.txt');
    await a.link(fh, a.rootHandle(), 'a2', root);
    expect((await a.getattr(fh)).nlink).toBe(2);
    const rootBefore = (await a.getattr(a.rootHandle())).nlink;
    await a.mkdir(a.rootHandle(), 'newdir', {}, root);
    expect((await a.getattr(a.rootHandle())).nlink).toBe(rootBefore + 1);
    await a.remove(a.rootHandle(), 'a.txt', root);
    expect((await a.getattr(fh)).nlink).toBe(1);
    expect(await readText(a, 'a2')).toBe('alpha\n');
  });

  it('refuses to move a directory into its own subtree', async () => {
    const a = await open('a', 81n);
    const { fh: sub } = await lookup(a, 'dir/sub');
    expect(await status(a.rename(a.rootHandle(), 'dir', sub, 'loop', root))).toBe(NfsStatus.INVAL);
    expect(await status(a.rmdir(a.rootHandle(), 'dir', root))).toBe(NfsStatus.NOTEMPTY);
  });

  it('answers bad names with the right status', async () => {
    const a = await open('a', 91n);
    const r = a.rootHandle();
    expect(await status(a.create(r, 'a/b', { kind: 'unchecked', attrs: {} }, root))).toBe(NfsStatus.INVAL);
    expect(await status(a.create(r, 'a\0b', { kind: 'unchecked', attrs: {} }, root))).toBe(NfsStatus.INVAL);
    expect(await status(a.create(r, '.', { kind: 'unchecked', attrs: {} }, root))).toBe(NfsStatus.EXIST);
    expect(await status(a.mkdir(r, '..', {}, root))).toBe(NfsStatus.EXIST);
    expect(await status(a.create(r, 'x'.repeat(256), { kind: 'unchecked', attrs: {} }, root))).toBe(NfsStatus.NAMETOOLONG);
    expect(await status(a.rmdir(r, '.', root))).toBe(NfsStatus.INVAL);
    expect(await status(a.lookup(r, 'missing', root))).toBe(NfsStatus.NOENT);
  });

  it('answers a status without capturing a stack (an expected outcome, thousands per clone)', async () => {
    const a = await open('a', 92n);
    const e = await a.lookup(a.rootHandle(), 'missing', root).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FsError);
    expect((e as FsError).status).toBe(NfsStatus.NOENT);
    expect((e as FsError).message).toBe('NOENT');
    expect((e as FsError).stack).not.toMatch(/\n\s+at /); // no frames; other errors keep theirs
    expect(new Error('x').stack).toMatch(/\n\s+at /);
  });

  it('keeps readdir cookies valid while the directory changes', async () => {
    const a = await open('a', 101n);
    const r = a.rootHandle();
    for (let i = 0; i < 50; i++) await a.create(r, `f${i}`, { kind: 'unchecked', attrs: {} }, root);
    const first = await a.readdir(r, 0n, Buffer.alloc(8), root);
    const page: string[] = [];
    let cookie = 0n;
    for (let i = 0; i < 20; i++) {
      const e = first.entries.next().value!;
      page.push(e.name);
      cookie = e.cookie;
    }
    await a.remove(r, 'f0', root); // already listed
    await a.remove(r, 'f40', root); // not yet listed
    await a.create(r, 'late', { kind: 'unchecked', attrs: {} }, root);
    const rest = await a.readdir(r, cookie, first.verf, root);
    const more = [...{ [Symbol.iterator]: () => rest.entries }].map((e) => e.name);
    expect(more).not.toContain('f40');
    expect(more).toContain('late');
    expect(new Set([...page, ...more]).size).toBe(page.length + more.length);
    expect(await status(a.readdir(r, 1n << 40n, first.verf, root))).toBe(NfsStatus.BAD_COOKIE);
  });

  it('checks the SETATTR ctime guard and truncates and extends', async () => {
    const a = await open('a', 111n);
    const { fh, attrs } = await lookup(a, 'a.txt');
    expect(await status(a.setattr(fh, { size: 2 }, { sec: 0, nsec: 5 }, root))).toBe(NfsStatus.NOT_SYNC);
    const w = await a.setattr(fh, { size: 2 }, attrs.ctime, root);
    expect(w.after?.size).toBe(2);
    await a.setattr(fh, { size: 4, mtime: 'server' }, null, root);
    const data = (await a.read(fh, 0, 100, root)).data;
    expect([...data]).toEqual([0x61, 0x6c, 0, 0]);
    expect(await status(a.write(fh, 2 ** 40, Buffer.from('x'), StableHow.UNSTABLE, root))).toBe(NfsStatus.FBIG);
  });

  it('enforces permissions from mode bits for other users', async () => {
    const a = await open('a', 121n);
    const user: Cred = { uid: 1000, gid: 1000, gids: [] };
    const { fh } = await lookup(a, 'a.txt');
    await a.setattr(fh, { mode: 0o600 }, null, root);
    expect(await status(a.read(fh, 0, 10, user))).toBe(NfsStatus.ACCES);
    expect(await status(a.create(a.rootHandle(), 'u', { kind: 'unchecked', attrs: {} }, user))).toBe(NfsStatus.ACCES);
    expect((await a.access(fh, 0x3f, user)).access).toBe(0);
  });

  it('recovers creates that shared one journal flush', async () => {
    const a = await open('a', 131n);
    const r = a.rootHandle();
    await Promise.all(Array.from({ length: 16 }, (_, i) => a.mkdir(r, `d${i}`, {}, root)));
    const before = await a.getattr(r);
    const again = await open('a', 131n); // no clean close: replay the journal
    const after = await again.getattr(r);
    expect(after.nlink).toBe(before.nlink);
    expect(after.mtime).toEqual(before.mtime);
    const listed = await names(again, '');
    for (let i = 0; i < 16; i++) expect(listed).toContain(`d${i}`);
  });
});
