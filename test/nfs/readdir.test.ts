// READDIR and READDIRPLUS (RFC 1813 3.3.16, 3.3.17): size limits, TOOSMALL, cookie paging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFile, nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { FileType, NfsStatus, ZERO_VERF, type DirEntry3 } from '../lib/nfs3-client.js';

let f: Fixture;
let big: Buffer;
const N = 1000;
const names = Array.from({ length: N }, (_, i) => `entry-${String(i).padStart(4, '0')}`);

beforeAll(async () => {
  f = await nfsFixture();
  big = await f.freshDir('many');
  // 1000 creates, 50 in flight at a time
  for (let i = 0; i < N; i += 50) {
    const res = await Promise.all(names.slice(i, i + 50).map((n) => f.client.create(big, n, { kind: 'unchecked', attrs: {} })));
    for (const r of res) expect(r.status).toBe(NfsStatus.OK);
  }
});
afterAll(async () => {
  await f.close();
});

/** Entries without "." and "..", which the filesystem may or may not list. */
const real = (es: DirEntry3[]): DirEntry3[] => es.filter((e) => e.name !== '.' && e.name !== '..');

describe('READDIR', () => {
  it('an empty directory: OK, eof, dir attributes and a verifier', async () => {
    const dir = await f.freshDir('empty');
    const res = await f.client.readdir(dir, 0n, ZERO_VERF, 4096);
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.eof).toBe(true);
    expect(real(res.entries!)).toEqual([]);
    expect(res.dirAttrs!.type).toBe(FileType.DIR);
    expect(res.verf!.length).toBe(8);
  });

  it('lists a small directory with fileids matching LOOKUP', async () => {
    const dir = await f.freshDir('small');
    const fh = await makeFile(f.client, dir, 'one');
    await f.client.mkdir(dir, 'two');
    const res = await f.client.readdir(dir);
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.eof).toBe(true);
    const es = real(res.entries!);
    expect(es.map((e) => e.name).sort()).toEqual(['one', 'two']);
    const one = es.find((e) => e.name === 'one')!;
    expect(one.fileid).toBe((await f.client.getattr(fh)).attrs!.fileid);
    expect(new Set(res.entries!.map((e) => e.cookie)).size).toBe(res.entries!.length);
  });

  it('pages through 1000 entries with cookies, every reply within `count`', async () => {
    const count = 2048;
    const seen: string[] = [];
    let cookie = 0n;
    let verf = ZERO_VERF;
    let pages = 0;
    for (;;) {
      const res = await f.client.readdir(big, cookie, verf, count);
      expect(res.status).toBe(NfsStatus.OK);
      expect(res.bytes).toBeLessThanOrEqual(count);
      pages++;
      seen.push(...res.entries!.map((e) => e.name));
      if (res.eof) break;
      expect(res.entries!.length).toBeGreaterThan(0);
      cookie = res.entries![res.entries!.length - 1].cookie;
      verf = res.verf!;
    }
    const got = seen.filter((n) => n !== '.' && n !== '..');
    expect(got.length).toBe(N);
    expect(new Set(got)).toEqual(new Set(names));
    expect(pages).toBeGreaterThan(10);
  });

  it('a page is filled as far as `count` allows', async () => {
    const res = await f.client.readdir(big, 0n, ZERO_VERF, 4096);
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.eof).toBe(false);
    // the next entry (about 32 bytes) did not fit
    expect(res.bytes).toBeGreaterThan(4096 - 40);
    expect(res.bytes).toBeLessThanOrEqual(4096);
  });

  it('eof is set on the page that ends the listing, even when it is exactly full', async () => {
    const dir = await f.freshDir('exact');
    await makeFile(f.client, dir, 'a1');
    await makeFile(f.client, dir, 'a2');
    const full = await f.client.readdir(dir, 0n, ZERO_VERF, 65536);
    expect(full.eof).toBe(true);
    // exactly the size of the full reply: all entries fit, eof still true
    const exact = await f.client.readdir(dir, 0n, ZERO_VERF, full.bytes);
    expect(exact.status).toBe(NfsStatus.OK);
    expect(exact.entries!.length).toBe(full.entries!.length);
    expect(exact.eof).toBe(true);
    // one byte less drops the last entry and clears eof
    const less = await f.client.readdir(dir, 0n, ZERO_VERF, full.bytes - 1);
    expect(less.entries!.length).toBe(full.entries!.length - 1);
    expect(less.eof).toBe(false);
  });

  it('a count too small for one entry is TOOSMALL with dir attributes', async () => {
    const res = await f.client.readdir(big, 0n, ZERO_VERF, 120);
    expect(res.status).toBe(NfsStatus.TOOSMALL);
    expect(res.dirAttrs!.type).toBe(FileType.DIR);
    const tiny = await f.client.readdir(big, 0n, ZERO_VERF, 8);
    expect(tiny.status).toBe(NfsStatus.TOOSMALL);
  });

  it('READDIR of a file is NOTDIR with post_op_attr', async () => {
    const dir = await f.freshDir('nd');
    const fh = await makeFile(f.client, dir, 'f');
    const res = await f.client.readdir(fh);
    expect(res.status).toBe(NfsStatus.NOTDIR);
    expect(res.dirAttrs!.type).toBe(FileType.REG);
  });

  it('READDIR of a garbage handle is BADHANDLE', async () => {
    const res = await f.client.readdir(Buffer.alloc(32, 1));
    expect(res.status).toBe(NfsStatus.BADHANDLE);
    expect(res.dirAttrs).toBeNull();
  });
});

describe('READDIRPLUS', () => {
  it('entries carry attributes and handles that agree with LOOKUP', async () => {
    const dir = await f.freshDir('plus');
    await makeFile(f.client, dir, 'p1', Buffer.from('abc'));
    const res = await f.client.readdirplus(dir, 0n, ZERO_VERF, 8192, 65536);
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.eof).toBe(true);
    const e = res.entries!.find((x) => x.name === 'p1')!;
    expect(e.attrs!.size).toBe(3);
    expect(e.attrs!.fileid).toBe(e.fileid);
    const lk = await f.client.lookup(dir, 'p1');
    expect(e.fh!.equals(lk.fh!)).toBe(true);
  });

  it('pages through 1000 entries; maxcount bounds the reply and dircount the directory part', async () => {
    const dircount = 1024;
    const maxcount = 8192;
    const seen: string[] = [];
    let cookie = 0n;
    let verf = ZERO_VERF;
    for (;;) {
      const res = await f.client.readdirplus(big, cookie, verf, dircount, maxcount);
      expect(res.status).toBe(NfsStatus.OK);
      expect(res.bytes).toBeLessThanOrEqual(maxcount);
      // directory information (RFC 1813 3.3.17): fileid + name + cookie
      const dirBytes = res.entries!.reduce((s, e) => s + 8 + Buffer.byteLength(e.name) + 8, 0);
      expect(dirBytes).toBeLessThanOrEqual(dircount);
      for (const e of res.entries!) {
        if (e.name === '.' || e.name === '..') continue;
        expect(e.attrs!.type).toBe(FileType.REG);
        expect(e.fh).not.toBeNull();
      }
      seen.push(...res.entries!.map((e) => e.name));
      if (res.eof) break;
      expect(res.entries!.length).toBeGreaterThan(0);
      cookie = res.entries![res.entries!.length - 1].cookie;
      verf = res.verf!;
    }
    const got = seen.filter((n) => n !== '.' && n !== '..');
    expect(got.length).toBe(N);
    expect(new Set(got)).toEqual(new Set(names));
  });

  it('a small maxcount limits entries even when dircount is large', async () => {
    const res = await f.client.readdirplus(big, 0n, ZERO_VERF, 65536, 1024);
    expect(res.status).toBe(NfsStatus.OK);
    expect(res.bytes).toBeLessThanOrEqual(1024);
    expect(res.entries!.length).toBeGreaterThan(0);
    expect(res.entries!.length).toBeLessThan(10);
    expect(res.eof).toBe(false);
  });

  it('TOOSMALL when not even one entry fits maxcount or dircount', async () => {
    const byMax = await f.client.readdirplus(big, 0n, ZERO_VERF, 8192, 150);
    expect(byMax.status).toBe(NfsStatus.TOOSMALL);
    expect(byMax.dirAttrs!.type).toBe(FileType.DIR);
    const byDir = await f.client.readdirplus(big, 0n, ZERO_VERF, 10, 65536);
    expect(byDir.status).toBe(NfsStatus.TOOSMALL);
  });
});
