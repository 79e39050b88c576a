// READDIR count, READDIRPLUS dircount and maxcount (RFC 1813 3.3.16, 3.3.17) with names of every padding,
// 255-byte names and multi-byte UTF-8 names: each page stays within its limits, is filled as far as they
// allow (the next page's first entry would not have fitted), and paging returns every name once.
// dircount counts the directory information only: fileid + name + cookie of each entry; maxcount, the only
// limit that "must include all XDR overhead", also the name's length word and padding, the value-follows
// words, attributes and handles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { NfsStatus, ZERO_VERF, type DirEntry3, type DirEntryPlus3 } from '../lib/nfs3-client.js';
import { nfsLs } from '../lib/libnfs.js';

let f: Fixture;
const names: string[] = [];
// every length 1..12 (all four paddings), 255-byte names, 2- and 3-byte UTF-8 names, then many short ones
for (let len = 1; len <= 12; len++) for (let i = 0; i < 3; i++) names.push(`${'abcdefghijkl'.slice(0, len - 1)}${i}`);
for (let i = 0; i < 40; i++) names.push(`${String(i).padStart(3, '0')}${'L'.repeat(252)}`);
for (let i = 0; i < 20; i++) names.push(`${i}-${'é'.repeat(60)}`); // 120+ bytes, fewer characters
for (let i = 0; i < 10; i++) names.push(`${i}-${'日本語'.repeat(20)}`); // 180+ bytes
for (let i = 0; i < 300; i++) names.push(`f${String(i).padStart(7, '0')}`); // the benchmark's names

const xdrString = (name: string): number => 4 + ((Buffer.byteLength(name, 'utf8') + 3) & ~3);
/** directory information of an entry (what dircount counts): fileid + name + cookie, without XDR framing */
const dirInfo = (e: DirEntry3): number => 8 + Buffer.byteLength(e.name, 'utf8') + 8;
/** an entry3 in a READDIR reply: value-follows + fileid + name (XDR string) + cookie */
const entry3 = (e: DirEntry3): number => 4 + 8 + xdrString(e.name) + 8;
/** an entryplus3: the entry3 part + post_op_attr + post_op_fh3 */
const entryPlus3 = (e: DirEntryPlus3): number => entry3(e) + 4 + (e.attrs ? 84 : 0) + 4 + (e.fh ? 4 + ((e.fh.length + 3) & ~3) : 0);
const real = (es: DirEntry3[]): string[] => es.map((e) => e.name).filter((n) => n !== '.' && n !== '..');

beforeAll(async () => {
  f = await nfsFixture();
  for (let i = 0; i < names.length; i += 40) {
    const res = await Promise.all(names.slice(i, i + 40).map((n) => f.client.create(f.root, n, { kind: 'unchecked', attrs: {} })));
    for (const r of res) expect(r.status).toBe(NfsStatus.OK);
  }
});
afterAll(async () => {
  await f.close();
});

describe('READDIRPLUS limits', () => {
  // (dircount, maxcount): the benchmark's and older Linux's maxcount/8, newer Linux's dircount = maxcount,
  // one bound tight and the other loose, both tight
  const pairs: [number, number][] = [
    [8192, 65536],
    [65536, 65536],
    [512, 65536],
    [65536, 2048],
    [1000, 3000],
    [300, 1200],
  ];
  for (const [dircount, maxcount] of pairs) {
    it(`dircount ${dircount}, maxcount ${maxcount}: within both, filled to one of them, every name once`, async () => {
      const pages: DirEntryPlus3[][] = [];
      const bytes: number[] = [];
      let cookie = 0n;
      let verf = ZERO_VERF;
      for (;;) {
        const res = await f.client.readdirplus(f.root, cookie, verf, dircount, maxcount);
        expect(res.status).toBe(NfsStatus.OK);
        // the reply (status word included) within maxcount, the directory information within dircount
        expect(res.bytes).toBeLessThanOrEqual(maxcount);
        const es = res.entries!;
        expect(es.reduce((s, e) => s + dirInfo(e), 0)).toBeLessThanOrEqual(dircount);
        for (const e of es) if (e.name !== '.' && e.name !== '..') expect(e.attrs && e.fh).toBeTruthy();
        pages.push(es);
        bytes.push(res.bytes);
        if (res.eof) break;
        expect(es.length).toBeGreaterThan(0);
        cookie = es[es.length - 1].cookie;
        verf = res.verf!;
      }
      for (let i = 0; i + 1 < pages.length; i++) {
        // the next page's first entry did not fit this page: by dircount or by maxcount
        const next = pages[i + 1][0];
        const dirUsed = pages[i].reduce((s, e) => s + dirInfo(e), 0);
        expect(dirUsed + dirInfo(next) > dircount || bytes[i] + entryPlus3(next) > maxcount).toBe(true);
      }
      const got = pages.flatMap(real);
      expect(got.length).toBe(names.length);
      expect(new Set(got)).toEqual(new Set(names));
    });
  }
});

describe('READDIR limits', () => {
  for (const count of [65536, 8192, 1024, 400]) {
    it(`count ${count}: within it, filled to it, every name once`, async () => {
      const pages: DirEntry3[][] = [];
      const bytes: number[] = [];
      let cookie = 0n;
      let verf = ZERO_VERF;
      for (;;) {
        const res = await f.client.readdir(f.root, cookie, verf, count);
        expect(res.status).toBe(NfsStatus.OK);
        expect(res.bytes).toBeLessThanOrEqual(count);
        pages.push(res.entries!);
        bytes.push(res.bytes);
        if (res.eof) break;
        cookie = res.entries![res.entries!.length - 1].cookie;
        verf = res.verf!;
      }
      for (let i = 0; i + 1 < pages.length; i++) expect(bytes[i] + entry3(pages[i + 1][0])).toBeGreaterThan(count);
      const got = pages.flatMap(real);
      expect(got.length).toBe(names.length);
      expect(new Set(got)).toEqual(new Set(names));
    });
  }
});

describe('a real client', () => {
  it('libnfs (nfs-ls, READDIRPLUS) lists every long, short and UTF-8 name once', async () => {
    const ls = await nfsLs({ server: f.server.host, port: f.server.port, export: f.server.exportPath });
    const got = ls.map((e) => e.name).filter((n) => n !== '.' && n !== '..');
    expect(got.length).toBe(names.length);
    expect(new Set(got)).toEqual(new Set(names));
  });
});
